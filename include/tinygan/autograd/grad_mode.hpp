/// \file
/// Whether ops record the graph. NoGrad turns recording off for a scope
/// (inference, sampling, the fakes of a discriminator step).
#pragma once

namespace tinygan {

namespace detail {
inline bool& grad_enabled_flag() {
  thread_local bool enabled = true;
  return enabled;
}
}  // namespace detail

inline bool grad_enabled() { return detail::grad_enabled_flag(); }

class NoGrad {
 public:
  NoGrad() : previous_(grad_enabled()) { detail::grad_enabled_flag() = false; }
  ~NoGrad() { detail::grad_enabled_flag() = previous_; }
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};

}  // namespace tinygan
