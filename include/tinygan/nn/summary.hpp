/// \file
/// summary(): the Keras-style table of a model: layer (type), output shape and
/// parameter count per row, then total, trainable and non-trainable counts.
#pragma once

#include <cctype>
#include <functional>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "tinygan/autograd/grad_mode.hpp"
#include "tinygan/nn/conditional.hpp"
#include "tinygan/nn/sequential.hpp"

namespace tinygan::nn {

namespace detail {
inline std::string with_commas(Index n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

inline std::string batch_shape(const Shape& s) {
  if (s.rank() == 1) return "(None,)";  // a label per sample, as Python writes a 1-tuple
  std::string out = "(None";
  for (int i = 1; i < s.rank(); ++i) out += ", " + std::to_string(s[i]);
  return out + ")";
}

inline std::string megabytes(Index count, std::size_t scalar_bytes) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(2)
      << static_cast<double>(count) * static_cast<double>(scalar_bytes) / (1024.0 * 1024.0) << " MB";
  return out.str();
}
}  // namespace detail

/// sample_shape is one input sample's shape without the batch, e.g. {100} or {1, 28, 28}.
/// Output shapes are found by running one sample through the model in eval
/// mode with no graph; modes are restored afterwards.
template <class T>
std::string summary(Module<T>& model, const Shape& sample_shape, const std::string& title = "") {
  const ModesGuard<T> restore(model);  // every module's mode comes back, even if a forward throws
  model.eval();
  NoGrad no_grad;

  Shape input{1};
  for (int i = 0; i < sample_shape.rank(); ++i) input.push_back(sample_shape[i]);
  const Var<T> x(Tensor<T>::zeros(input));

  std::vector<std::string> cells;
  const auto add_row = [&](const std::string& name, const std::string& type, const Shape& shape, Index parameters) {
    cells.push_back(name + " (" + type + ")");
    cells.push_back(detail::batch_shape(shape));
    cells.push_back(detail::with_commas(parameters));
  };
  // A Sequential lists its children, anything else is one row. A Sequential
  // held under a name ("main", as in PyTorch's models) lists its own children
  // ("main.0"); one held under a number (G inside the combined model) is a row.
  std::function<Var<T>(const std::string&, Module<T>&, const Var<T>&, bool)> rows;
  rows = [&](const std::string& prefix, Module<T>& m, const Var<T>& in, bool expand) {
    if (expand && dynamic_cast<Sequential<T>*>(&m)) {
      Var<T> h = in;
      for (auto& [name, child] : m.children()) {
        const bool named = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
        h = rows(prefix.empty() ? name : prefix + "." + name, *child, h, named);
      }
      return h;
    }
    const Var<T> out = m.forward(in);
    add_row(prefix, m.type_name(), out.shape(), m.total_parameter_count());
    return out;
  };
  if (auto* conditional = dynamic_cast<Conditional<T>*>(&model)) {
    // Both inputs first, then each child as it runs and the ops where the label joins.
    add_row("input", "InputLayer", x.shape(), 0);
    add_row("label", "InputLayer", Shape{1}, 0);
    typename Conditional<T>::Trace trace;
    trace.layer = [&](const std::string& name, Module<T>& child, const Var<T>& in) { return rows(name, child, in, true); };
    trace.step = [&](const std::string& name, const std::string& type, const Var<T>& out, Index parameters) {
      add_row(name, type, out.shape(), parameters);
    };
    conditional->trace(x, Tensor<T>::zeros(Shape{1}), trace);
  } else {
    rows(dynamic_cast<Sequential<T>*>(&model) ? "" : "0", model, x, true);
  }

  std::ostringstream out;
  const int w1 = 30, w2 = 26, w3 = 14, width = w1 + w2 + w3;
  const std::string heavy(width, '='), light(width, '-');
  if (!title.empty()) out << "Model: \"" << title << "\"\n";
  out << heavy << '\n'
      << std::left << std::setw(w1) << "Layer (type)" << std::setw(w2) << "Output Shape"
      << std::right << std::setw(w3) << "Param #" << '\n'
      << heavy << '\n';
  for (std::size_t i = 0; i < cells.size(); i += 3) {
    out << std::left << std::setw(w1) << cells[i] << std::setw(w2) << cells[i + 1] << std::right
        << std::setw(w3) << cells[i + 2] << '\n';
    out << (i + 3 < cells.size() ? light : heavy) << '\n';
  }
  const Index total = model.total_parameter_count(), trainable = model.trainable_parameter_count();
  out << "Total params: " << detail::with_commas(total) << " (" << detail::megabytes(total, sizeof(T))
      << ")\n"
      << "Trainable params: " << detail::with_commas(trainable) << " ("
      << detail::megabytes(trainable, sizeof(T)) << ")\n"
      << "Non-trainable params: " << detail::with_commas(total - trainable) << " ("
      << detail::megabytes(total - trainable, sizeof(T)) << ")\n";
  return out.str();
}

}  // namespace tinygan::nn
