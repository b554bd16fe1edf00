// A 40-line GAN against the installed headers: a generator learns to put
// 2-d points on the unit circle. Exits 1 if training produced a non-finite loss.
#include <tinygan/gan.hpp>

#include <cmath>
#include <cstdio>

using namespace tinygan;

int main() {
  nn::Sequential<float> g, d;
  g.add(nn::Dense<float>(4, 16)).add(nn::LeakyReLU<float>(0.2)).add(nn::Dense<float>(16, 2));
  d.add(nn::Dense<float>(2, 16)).add(nn::LeakyReLU<float>(0.2)).add(nn::Dense<float>(16, 1)).add(nn::Sigmoid<float>());
  Rng rng(1);
  g.initialize(rng);
  d.initialize(rng);
  optim::Adam<float> opt_g(g.parameters(), optim::AdamOptions(1e-3).beta1(0.5));
  optim::Adam<float> opt_d(d.parameters(), optim::AdamOptions(1e-3).beta1(0.5));
  const Index n = 32;
  const auto ones = Tensor<float>::full({n, 1}, 1), zeros = Tensor<float>::full({n, 1}, 0);
  float d_loss = 0, g_loss = 0;
  for (int step = 0; step < 50; ++step) {
    Tensor<float> real(Shape{n, 2});
    for (Index i = 0; i < n; ++i) {
      const double angle = rng.uniform(0, 6.283185307179586);
      real(i, 0) = static_cast<float>(std::cos(angle)), real(i, 1) = static_cast<float>(std::sin(angle));
    }
    Var<float> fake;
    { NoGrad no_grad; fake = g(Var<float>(Tensor<float>::randn({n, 4}, rng))); }
    opt_d.zero_grad();  // D step: real points are 1, generated ones 0
    const Var<float> ld = add(bce(d(Var<float>(real)), ones), bce(d(fake), zeros));
    backward(ld);
    opt_d.step();
    d.set_trainable(false);  // G step through the frozen D
    opt_g.zero_grad();
    const Var<float> lg = bce(d(g(Var<float>(Tensor<float>::randn({n, 4}, rng)))), ones);
    backward(lg);
    opt_g.step();
    d.set_trainable(true);
    d_loss = ld.value()[0], g_loss = lg.value()[0];
  }
  std::printf("tinygan %s consumer: 50 steps, d_loss %.4f, g_loss %.4f\n", TINYGAN_VERSION_STRING, d_loss, g_loss);
  return std::isfinite(d_loss) && std::isfinite(g_loss) ? 0 : 1;
}
