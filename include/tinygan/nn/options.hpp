/// \file
/// TINYGAN_ARG declares a named setter and getter on an options struct, so
/// constructors read like the paper's table: Conv2DOptions(1, 64, 5).stride(2).padding(2).
#pragma once

#define TINYGAN_ARG(type, name, default_value)      \
 public:                                            \
  auto& name(const type& value) {                   \
    name##_ = value;                                \
    return *this;                                   \
  }                                                 \
  const type& name() const { return name##_; }      \
                                                    \
 private:                                           \
  type name##_ = default_value;                     \
                                                    \
 public:
