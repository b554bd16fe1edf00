/// \file
/// A module's weights as a file: PyTorch's state_dict names and layouts
/// ("0.weight", "1.running_mean", ...), so that torch's load_state_dict takes
/// the file as it is, and a file from PyTorch loads here.
#pragma once

#include <map>
#include <set>
#include <string>

#include "tinygan/io/safetensors.hpp"
#include "tinygan/nn/module.hpp"

namespace tinygan::io {

template <class T>
std::map<std::string, Tensor<T>> state_dict(const nn::Module<T>& module, const std::string& prefix = "") {
  std::map<std::string, Tensor<T>> out;
  for (const auto& [name, p] : module.named_parameters()) out[prefix + name] = p.value();
  for (const auto& [name, b] : module.named_buffers()) out[prefix + name] = b.value();
  return out;
}

/// Copies every parameter and buffer of module from tensors (names with
/// prefix). Strict: a missing tensor, one of another shape, or a tensor the
/// model does not have is an Error naming the first such tensor and both
/// shapes; nothing is changed unless everything fits.
template <class T>
void load_state_dict(nn::Module<T>& module, const std::map<std::string, Tensor<T>>& tensors,
                     const std::string& source, const std::string& prefix = "") {
  auto targets = module.named_parameters();
  for (auto& entry : module.named_buffers()) targets.push_back(entry);
  std::set<std::string> expected;
  for (auto& [name, var] : targets) {
    const std::string key = prefix + name;
    expected.insert(key);
    const auto it = tensors.find(key);
    check(it != tensors.end(), source, ": has no tensor '", key, "' (the model expects one of shape ",
          var.shape(), ")");
    check(it->second.shape() == var.shape(), source, ": tensor '", key, "' has shape ",
          it->second.shape(), " but the model expects ", var.shape());
  }
  for (const auto& [key, t] : tensors)
    if (key.compare(0, prefix.size(), prefix) == 0)
      check(expected.count(key) == 1, source, ": tensor '", key, "' of shape ", t.shape(),
            " has no place in this model (is it the right model?)");
  for (auto& [name, var] : targets) var.value() = tensors.at(prefix + name);
}

template <class T>
void save_weights(const std::string& path, const nn::Module<T>& module,
                  const std::map<std::string, std::string>& metadata = {}) {
  save_safetensors(path, state_dict(module), metadata);
}

template <class T>
void load_weights(const std::string& path, nn::Module<T>& module) {
  load_state_dict(module, load_safetensors<T>(path).tensors, path);
}

}  // namespace tinygan::io
