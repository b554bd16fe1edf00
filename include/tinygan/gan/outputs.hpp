/// \file
/// The files a training run writes beside its checkpoint: sample grids, the
/// final weights and config.json. Every file is written atomically (io/).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tinygan/core/atomic_file.hpp"
#include "tinygan/gan/trainer.hpp"
#include "tinygan/io/png.hpp"
#include "tinygan/io/state_dict.hpp"
#include "tinygan/nn/predict.hpp"

namespace tinygan::gan {

/// G's samples of one fixed batch of inputs (with their labels for a
/// conditional G) as a grid, `columns` wide; for an image-to-image G, each
/// input beside its output instead.
inline void write_sample_grid(const std::string& path, nn::Module<float>& g, const Tensor<float>& inputs,
                              const Tensor<float>* labels, bool paired, Index columns, float lo, float hi) {
  const Tensor<float> samples = nn::predict(g, inputs, 500, labels);
  if (paired)
    io::save_image_pairs(path, inputs, samples, lo, hi, 2);
  else
    io::save_image_grid(path, samples, columns, lo, hi, 2);
}

/// In `dir`: generator.safetensors, the generator to sample from (the moving
/// average when there is one); generator_trained.safetensors, G itself,
/// when they differ; discriminator.safetensors.
inline void save_final_weights(const std::string& dir, nn::Module<float>& sampling_generator, Trainer& trainer) {
  const auto path = [&](const char* name) { return (std::filesystem::path(dir) / name).string(); };
  io::save_weights(path("generator.safetensors"), sampling_generator);
  if (trainer.has_ema()) io::save_weights(path("generator_trained.safetensors"), trainer.generator());
  io::save_weights(path("discriminator.safetensors"), trainer.discriminator());
}

/// A JSON object, one field a line in the given order; values are JSON
/// already (json::quote for strings).
inline std::string json_object(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string text = "{\n";
  for (std::size_t i = 0; i < fields.size(); ++i)
    text += "  \"" + fields[i].first + "\": " + fields[i].second + (i + 1 < fields.size() ? ",\n" : "\n");
  return text + "}\n";
}

/// A shape as a JSON array: [1, 28, 28].
inline std::string json_shape(const Shape& s) {
  std::string text = "[";
  for (int i = 0; i < s.rank(); ++i) text += (i ? ", " : "") + std::to_string(s[i]);
  return text + "]";
}

}  // namespace tinygan::gan
