// libFuzzer target: a checkpoint read the way a resumed run reads one
// (gan/run_state.hpp): Checkpoint::load, then the model's weights, Adam's state,
// the noise stream and the integer counters, each step on its own so that one
// bad field does not hide the rest. Only tinygan::Error may come out.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tinygan/io/checkpoint.hpp"
#include "tinygan/nn/dense.hpp"

namespace {
template <class F>
void attempt(F f) {
  try {
    f();
  } catch (const tinygan::Error&) {
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tinygan;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const auto c = io::Checkpoint<float>::load_bytes(bytes, "fuzz.safetensors");
    // The seed corpus's checkpoints hold this model: Dense(2, 3) trained by Adam.
    static nn::Dense<float> model(nn::DenseOptions(2, 3));
    static optim::Adam<float> adam(model.parameters());
    attempt([&] { c.meta("model"); });
    attempt([&] { c.get_module("generator", model); });
    attempt([&] { c.get_adam("opt_g", adam); });
    attempt([&] {
      Rng rng(1);
      c.get_rng("noise", rng);
    });
    for (const char* name : {"iteration", "batches.position", "batches.epoch"})
      attempt([&] { c.get_int(name); });
    attempt([&] { c.tensor("batches.order"); });
  } catch (const Error&) {
  }
  return 0;
}
