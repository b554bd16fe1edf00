/// \file
/// safetensors: the tensor file format PyTorch, NumPy and others read.
/// 8-byte little-endian header size, a JSON header naming each tensor's dtype,
/// shape and byte range, then the raw little-endian data.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "tinygan/core/read_file.hpp"
#include "tinygan/core/tensor.hpp"
#include "tinygan/core/atomic_file.hpp"
#include "tinygan/core/json.hpp"

namespace tinygan::io {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this reader copies it as it is");

template <class T>
struct TensorFile {
  std::map<std::string, Tensor<T>> tensors;
  std::map<std::string, std::string> metadata;

  const Tensor<T>& at(const std::string& name) const {
    const auto it = tensors.find(name);
    check(it != tensors.end(), "safetensors: no tensor named '", name, "'");
    return it->second;
  }
};

namespace detail {
/// More elements than any tensor this library handles (2^40); refused before allocating.
constexpr std::uint64_t kMaxElements = 1ULL << 40;

/// A JSON number that is a whole count exactly representable in a double.
inline bool is_count(const json::Value& v) {
  return v.is_number() && v.number() >= 0 && v.number() <= 9007199254740992.0 &&
         v.number() == std::floor(v.number());
}

/// I64 is read because PyTorch stores BatchNorm's num_batches_tracked so:
/// safetensors.torch.save_file(model.state_dict()) writes it for every network
/// with a BatchNorm.
inline std::size_t dtype_size(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F64" || dtype == "I64") return 8;
  return 0;
}

template <class T, class Stored>
void convert_into(const char* src, Tensor<T>& dst) {
  for (Index i = 0; i < dst.numel(); ++i) {
    Stored v;
    std::memcpy(&v, src + static_cast<std::size_t>(i) * sizeof(Stored), sizeof(Stored));
    dst[i] = static_cast<T>(v);
  }
}

/// Integers, each of which T must hold exactly (|v| <= 2^24 for float): a
/// count that rounded would be a silently wrong tensor.
template <class T>
void convert_integers_into(const char* src, Tensor<T>& dst, const std::string& where) {
  constexpr std::int64_t kExact = std::int64_t{1} << std::numeric_limits<T>::digits;
  for (Index i = 0; i < dst.numel(); ++i) {
    std::int64_t v;
    std::memcpy(&v, src + static_cast<std::size_t>(i) * sizeof v, sizeof v);
    check(v >= -kExact && v <= kExact, where, ": I64 value ", v, " at element ", i, " is not exact as a ",
          sizeof(T) == 4 ? "float" : "double", " (at most 2^", std::numeric_limits<T>::digits, " in magnitude)");
    dst[i] = static_cast<T>(v);
  }
}
}  // namespace detail

/// Reads every tensor (F32, F64 or I64, converted to T) and the metadata from a
/// file's bytes. Anything malformed raises an Error that names path (the
/// file, or whatever the bytes came from) and what was wrong.
template <class T>
TensorFile<T> load_safetensors_bytes(const std::string& bytes, const std::string& path) {
  check(bytes.size() >= 8, path, ": not a safetensors file: expected at least 8 bytes, found ",
        bytes.size());
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  check(header_size <= bytes.size() - 8, path, ": header claims ", header_size,
        " bytes but the file has only ", bytes.size() - 8, " after the size field");
  const json::Value header = json::parse(bytes.substr(8, header_size), path + " header");
  check(header.is_object(), path, ": expected a JSON object as header");
  const std::size_t data_start = 8 + header_size, data_size = bytes.size() - data_start;

  TensorFile<T> file;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  for (const auto& [name, entry] : header.object()) {
    if (name == "__metadata__") {
      check(entry.is_object(), path, ": __metadata__ must be an object");
      for (const auto& [key, value] : entry.object()) {
        check(value.is_string(), path, ": metadata '", key, "' must be a string");
        file.metadata[key] = value.string();
      }
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    check(entry.is_object(), where, ": expected an object");
    const auto& fields = entry.object();
    for (const char* key : {"dtype", "shape", "data_offsets"})
      check(fields.count(key) == 1, where, ": missing '", key, "'");
    check(fields.at("dtype").is_string(), where, ": dtype must be a string");
    const std::string dtype = fields.at("dtype").string();
    const std::size_t element = detail::dtype_size(dtype);
    check(element != 0, where, ": expected dtype F32, F64 or I64, found ", dtype);

    const auto& dims = fields.at("shape");
    check(dims.is_array() && dims.array().size() <= Shape::kMaxRank, where,
          ": expected a shape of at most ", Shape::kMaxRank, " dimensions");
    Shape shape;
    // span, the product of the nonzero dimensions, is bounded too: an empty
    // [0, 2^40, 2^40] would overflow any product that skips the zero.
    std::uint64_t count = 1, span = 1;
    for (const auto& d : dims.array()) {
      check(detail::is_count(d), where, ": shape entries must be non-negative integers");
      const auto n = static_cast<std::uint64_t>(d.number());
      // Checked before multiplying, so no product can wrap around.
      check(n <= detail::kMaxElements && span <= detail::kMaxElements / std::max<std::uint64_t>(n, 1), where,
            ": shape ", dims.array().size(), "-d with these dimensions exceeds ", detail::kMaxElements,
            " elements");
      count *= n;
      span *= std::max<std::uint64_t>(n, 1);
      shape.push_back(static_cast<Index>(n));
    }
    const auto& offsets = fields.at("data_offsets");
    check(offsets.is_array() && offsets.array().size() == 2 && detail::is_count(offsets.array()[0]) &&
              detail::is_count(offsets.array()[1]),
          where, ": data_offsets must be [begin, end], non-negative integers");
    const auto begin = static_cast<std::uint64_t>(offsets.array()[0].number());
    const auto end = static_cast<std::uint64_t>(offsets.array()[1].number());
    check(begin <= end && end <= data_size, where, ": byte range [", begin, ", ", end,
          ") lies outside the ", data_size, " data bytes");
    check(end - begin == count * element, where, ": shape ", shape, " of ", dtype, " needs ",
          count * element, " bytes, the byte range holds ", end - begin);
    ranges.emplace_back(begin, end);

    Tensor<T> t(shape);
    const char* src = bytes.data() + data_start + begin;
    if (dtype == "F32")
      detail::convert_into<T, float>(src, t);
    else if (dtype == "F64")
      detail::convert_into<T, double>(src, t);
    else
      detail::convert_integers_into(src, t, where);
    file.tensors.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i)
    check(ranges[i].first >= ranges[i - 1].second, path, ": two tensors overlap in the data");
  return file;
}

template <class T>
TensorFile<T> load_safetensors(const std::string& path) {
  return load_safetensors_bytes<T>(read_whole_file(path), path);
}

/// Writes tensors as F32 (float) or F64 (double), atomically.
template <class T>
void save_safetensors(const std::string& path, const std::map<std::string, Tensor<T>>& tensors,
                      const std::map<std::string, std::string>& metadata = {}) {
  const char* dtype = sizeof(T) == 4 ? "F32" : "F64";
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      header += (first ? "" : ",") + json::quote(k) + ":" + json::quote(v);
      first = false;
    }
    header += "}";
  }
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (header.size() > 1) header += ",";
    header += json::quote(name) + ":{\"dtype\":\"" + dtype + "\",\"shape\":[";
    for (int i = 0; i < t.rank(); ++i) header += (i ? "," : "") + std::to_string(t.dim(i));
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * sizeof(T);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // keeps the data aligned

  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  out += header;
  for (const auto& [name, t] : tensors)
    out.append(reinterpret_cast<const char*>(t.data()), static_cast<std::size_t>(t.numel()) * sizeof(T));
  write_file_atomically(path, out);
}

}  // namespace tinygan::io
