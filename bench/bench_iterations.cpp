// Milliseconds per full GAN training iteration of each of docs/models.md's five
// models and pytorch/examples' 64x64x3 DCGAN (dcgan64) at its batch sizes (D step on a real and a fake batch, then the G
// step through the frozen D with fresh noise), with heap allocations per
// iteration and peak RSS. Each (model, threads) runs in its own child process
// so that peak RSS is that run's own.
//
//   tinygan_bench_iterations [--models dcgan,dense,...,dcgan64] [--threads 1,2] [--repeats N] [--warmup N]
//                            [--r1 GAMMA] [--json]
//
// --r1 adds the R1 penalty to every D step: what one R1 iteration costs
// (lazy R1 every K iterations costs 1/K of the difference on average).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <tinygan/gan.hpp>

#include "bench_models.hpp"
#include "harness.hpp"

using namespace tinygan;

namespace {

void run_model(const bench::BenchModel& m, int threads, int warmup, int repeats, bool json, double r1_gamma) {
  set_num_threads(threads);
  set_flush_denormals(true);  // as the example programs run
  Rng rng(42);
  gan::Trainer trainer = bench::make_trainer(m, rng, r1_gamma);
  // Real batches: uniform pixels in the generator's range (timing does not depend on them).
  Tensor<float> real = Tensor<float>::rand(bench::batch_of(m.real_batch, m.sample), rng, -1, 1);
  Tensor<float> fake_input, g_input;
  if (m.latent == 0) {  // the autoencoder maps images in [0, 1]
    fake_input = Tensor<float>::rand({m.fake_batch, 784}, rng);
    g_input = fake_input;
  }
  // A conditional model's classes: the reals' fixed, the fakes' drawn afresh (in place) every iteration.
  const Tensor<float> real_labels = m.classes ? gan::every_class(m.real_batch, m.classes) : Tensor<float>();
  Tensor<float> fake_labels(Shape{m.classes ? m.fake_batch : 0}), g_labels(Shape{m.classes ? m.g_batch : 0});
  const auto labels = [&](Tensor<float>& t) -> const Tensor<float>* {
    for (float& y : t) y = static_cast<float>(rng.below(static_cast<std::uint64_t>(m.classes)));
    return m.classes ? &t : nullptr;
  };
  const auto iteration = [&] {
    if (m.latent) {  // fresh noise every iteration, as in training
      fake_input = Tensor<float>::randn({m.fake_batch, m.latent}, rng);
      g_input = Tensor<float>::randn({m.g_batch, m.latent}, rng);
    }
    trainer.step(real, fake_input, g_input, m.classes ? &real_labels : nullptr, labels(fake_labels), labels(g_labels));
  };
  const bench::Timing t = bench::measure(iteration, warmup, repeats);
  if (json) {
    bench::JsonLine()
        .field("kind", "iteration").field("model", m.name).field("threads", threads).field("r1_gamma", r1_gamma)
        .field("median_ms", t.median_ms).field("p10_ms", t.low_ms).field("p90_ms", t.high_ms)
        .field("repeats", t.samples).field("allocations_per_iteration", t.allocations_per_call)
        .field("peak_rss_mb", bench::peak_rss_mb())
        .print();
  } else {
    std::printf("%-9s %d thread%s  %8.2f ms  (p10 %.2f, p90 %.2f, %d its)  %8.1f allocations/it  peak RSS %6.1f MB\n",
                m.name.c_str(), threads, threads == 1 ? " " : "s", t.median_ms, t.low_ms, t.high_ms, t.samples,
                t.allocations_per_call, bench::peak_rss_mb());
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bench::CommandLine cli("tinygan_bench_iterations", "[--models dcgan,dense,dense-bn,minimal,inverted,dcgan64,cdcgan-projection,cdcgan-channels] [--threads 1,2] [--repeats N] [--warmup N] [--r1 GAMMA] [--json]");
  std::vector<std::string> names;
  std::vector<int> thread_counts = {1, 2};
  int repeats = 0, warmup = 5;
  double r1_gamma = 0;  // --r1: the R1 penalty in every iteration (an R1 iteration's cost)
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&] {
      if (i + 1 >= argc) cli.fail(arg + " needs a value");
      return std::string(argv[++i]);
    };
    if (arg == "--models") names = bench::split_commas(value());
    else if (arg == "--threads") {
      thread_counts.clear();
      for (const auto& t : bench::split_commas(value())) thread_counts.push_back(cli.count("--threads", t));
    } else if (arg == "--repeats") repeats = cli.count(arg, value());
    else if (arg == "--warmup") warmup = cli.count(arg, value());
    else if (arg == "--r1") r1_gamma = std::stod(value());
    else if (arg == "--json") json = true;
    else cli.fail("unknown option '" + arg + "'");
  }
  std::vector<const bench::BenchModel*> chosen;
  for (const auto& m : bench::bench_models())
    if (names.empty() || std::find(names.begin(), names.end(), m.name) != names.end()) chosen.push_back(&m);
  for (const auto& n : names) {
    if (!bench::find_model(n)) cli.fail("unknown model '" + n + "' (dcgan, dense, dense-bn, minimal, inverted, dcgan64, cdcgan-projection, cdcgan-channels)");
  }
  // One child per measurement; the parent never starts OpenMP threads, so fork is safe.
  for (const bench::BenchModel* m : chosen)
    for (int threads : thread_counts) {
      std::fflush(stdout);
      const pid_t child = fork();
      if (child == 0) {
        try {
          run_model(*m, threads, warmup, repeats ? repeats : m->repeats, json, r1_gamma);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "tinygan_bench_iterations: %s: %s\n", m->name.c_str(), e.what());
          std::_Exit(1);
        }
        std::_Exit(0);
      }
      int status = 0;
      if (child < 0 || waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "tinygan_bench_iterations: the %s run with %d thread(s) failed\n", m->name.c_str(), threads);
        return 1;
      }
    }
  return 0;
}
