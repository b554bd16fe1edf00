/// \file
/// Checkpoint: everything needed to resume a run exactly (weights, buffers,
/// optimizer moments and step counts, every random stream, counters), kept as
/// one safetensors file: tensors for arrays, metadata strings for the rest.
/// Written atomically, so a crash mid-write leaves the previous checkpoint.
#pragma once

#include <cctype>
#include <charconv>
#include <cstdio>
#include <map>
#include <string>

#include "tinygan/io/safetensors.hpp"
#include "tinygan/io/state_dict.hpp"
#include "tinygan/nn/dropout.hpp"
#include "tinygan/optim/adam.hpp"

namespace tinygan::io {

template <class T>
class Checkpoint {
 public:
  static Checkpoint load(const std::string& path) { return load_bytes(read_whole_file(path), path); }
  /// A checkpoint file's bytes; path names them in errors.
  static Checkpoint load_bytes(const std::string& bytes, const std::string& path) {
    Checkpoint c;
    auto file = load_safetensors_bytes<T>(bytes, path);
    c.tensors_ = std::move(file.tensors);
    c.meta_ = std::move(file.metadata);
    c.source_ = path;
    check(c.meta_.count("format") && c.meta_.at("format") == kFormat, path,
          ": not a tinygan checkpoint (expected metadata format=", kFormat, ")");
    return c;
  }
  void save(const std::string& path) const {
    auto meta = meta_;
    meta["format"] = kFormat;
    save_safetensors(path, tensors_, meta);
  }

  /// Weights and buffers under "prefix.", plus the state of each dropout stream.
  void put_module(const std::string& prefix, nn::Module<T>& m) {
    for (auto& [name, t] : state_dict(m, prefix + ".")) tensors_[name] = t;
    int k = 0;
    m.visit([&](nn::Module<T>& child) {
      if (auto* d = dynamic_cast<nn::Dropout<T>*>(&child)) put_rng(prefix + ".dropout." + std::to_string(k++), d->rng());
    });
  }
  void get_module(const std::string& prefix, nn::Module<T>& m) const {
    load_state_dict(m, tensors_, source_, prefix + ".");
    int k = 0;
    m.visit([&](nn::Module<T>& child) {
      if (auto* d = dynamic_cast<nn::Dropout<T>*>(&child)) get_rng(prefix + ".dropout." + std::to_string(k++), d->rng());
    });
  }

  void put_adam(const std::string& prefix, optim::Adam<T>& adam) {
    auto& state = adam.state();
    for (std::size_t i = 0; i < state.size(); ++i) {
      const std::string key = prefix + "." + std::to_string(i);
      tensors_[key + ".m"] = state[i].m;
      tensors_[key + ".v"] = state[i].v;
      put_int(key + ".step", state[i].step);
    }
  }
  void get_adam(const std::string& prefix, optim::Adam<T>& adam) const {
    auto& state = adam.state();
    for (std::size_t i = 0; i < state.size(); ++i) {
      const std::string key = prefix + "." + std::to_string(i);
      const Tensor<T>& m = tensor(key + ".m");
      const Tensor<T>& v = tensor(key + ".v");
      check(m.shape() == state[i].m.shape() && v.shape() == state[i].v.shape(), source_,
            ": optimizer state '", key, "' has shape ", m.shape(), ", the model's parameter ",
            state[i].m.shape());
      const std::int64_t step = get_int(key + ".step");
      check(step >= 0, source_, ": optimizer step '", key, ".step' should be non-negative, found ", step);
      state[i].m = m;
      state[i].v = v;
      state[i].step = step;
    }
  }

  void put_rng(const std::string& name, const Rng& rng) {
    std::string text;
    for (auto word : rng.state()) {
      char buf[17];
      std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(word));
      text += (text.empty() ? "" : ":") + std::string(buf);
    }
    meta_["rng." + name] = text;
  }
  /// Strict: four 16-digit hex words joined by ':' (std::stoull would throw
  /// std::invalid_argument on junk, and accept signs, spaces and "0x").
  void get_rng(const std::string& name, Rng& rng) const {
    const std::string& text = meta("rng." + name);
    const auto malformed = [&] {
      return Error(source_ + ": random state 'rng." + name +
                   "' is malformed: expected four 16-digit hex words joined by ':', found '" + text + "'");
    };
    if (text.size() != 4 * 16 + 3) throw malformed();
    Rng::State state{};
    for (std::size_t i = 0; i < 4; ++i) {
      const char* first = text.data() + i * 17;
      if (i > 0 && first[-1] != ':') throw malformed();
      for (const char* p = first; p != first + 16; ++p)
        if (!std::isxdigit(static_cast<unsigned char>(*p))) throw malformed();
      std::from_chars(first, first + 16, state[i], 16);
    }
    // xoshiro's one invalid state: it would draw zeros forever.
    check(state != Rng::State{}, source_, ": random state 'rng.", name,
          "' is all zeros, which no generator reaches; the checkpoint is corrupt");
    rng.set_state(state);
  }

  void put_int(const std::string& name, std::int64_t v) { meta_[name] = std::to_string(v); }
  std::int64_t get_int(const std::string& name) const {
    const std::string& text = meta(name);
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    check(ec == std::errc() && end == text.data() + text.size() && !text.empty(), source_, ": '", name,
          "' should be an integer, found '", text, "'");
    return v;
  }
  void put_text(const std::string& name, const std::string& v) { meta_[name] = v; }
  bool has_meta(const std::string& name) const { return meta_.count(name) > 0; }
  const std::string& meta(const std::string& name) const {
    const auto it = meta_.find(name);
    check(it != meta_.end(), source_, ": checkpoint lacks '", name, "'");
    return it->second;
  }

  /// The file this checkpoint was loaded from, for error messages.
  const std::string& source() const { return source_; }

  void put_tensor(const std::string& name, Tensor<T> t) { tensors_[name] = std::move(t); }
  bool has_tensor(const std::string& name) const { return tensors_.count(name) > 0; }
  const Tensor<T>& tensor(const std::string& name) const {
    const auto it = tensors_.find(name);
    check(it != tensors_.end(), source_, ": checkpoint lacks tensor '", name, "'");
    return it->second;
  }

 private:
  static constexpr const char* kFormat = "tinygan-checkpoint-1";
  std::map<std::string, Tensor<T>> tensors_;
  std::map<std::string, std::string> meta_;
  std::string source_ = "checkpoint";
};

}  // namespace tinygan::io
