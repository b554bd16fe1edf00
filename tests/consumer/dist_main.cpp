// The installed tinygan::dist target (an MPI build): a small GAN trained
// data-parallel over the job's ranks; alone (no mpirun) it is one rank.
#include <tinygan/gan.hpp>

#include <cmath>
#include <cstdio>
#include <memory>

using namespace tinygan;

int main() {
  dist::Communicator comm;
  Rng rng(1);
  auto g = std::make_shared<nn::Sequential<float>>(), d = std::make_shared<nn::Sequential<float>>();
  g->add(nn::Dense<float>(4, 16)).add(nn::LeakyReLU<float>(0.2)).add(nn::Dense<float>(16, 2));
  d->add(nn::Dense<float>(2, 16)).add(nn::LeakyReLU<float>(0.2)).add(nn::Dense<float>(16, 1)).add(nn::Sigmoid<float>());
  g->initialize(rng);
  d->initialize(rng);
  dist::broadcast_module(comm, *g);
  dist::broadcast_module(comm, *d);
  gan::Trainer trainer(g, d, gan::Recipe{});
  trainer.distribute(comm);
  Rng data(2 + static_cast<std::uint64_t>(comm.rank()));  // each rank its own batches
  gan::StepStats stats;
  for (int step = 0; step < 20; ++step)
    stats = trainer.step(Tensor<float>::rand({16, 2}, data, -1, 1), Tensor<float>::randn({16, 4}, data),
                         Tensor<float>::randn({16, 4}, data));
  if (comm.is_root())
    std::printf("tinygan::dist consumer: %d rank(s), 20 steps, d_loss %.4f, g_loss %.4f\n", comm.size(), stats.d_loss,
                stats.g_loss);
  return std::isfinite(stats.d_loss) && std::isfinite(stats.g_loss) ? 0 : 1;
}
