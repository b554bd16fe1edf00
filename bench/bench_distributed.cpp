// Data-parallel scaling (docs/distributed.md), in one run under mpirun: for
// each model, milliseconds per training iteration on rank 0 alone (no
// communication; the other ranks wait), then on all ranks together, each
// rank with docs/models.md's batch, so N ranks train on N times the samples per
// iteration. Also the time of the gradient all-reduce alone (G's and D's
// per iteration), the samples per second, and heap allocations per
// iteration (operator new calls; MPI's own allocations are not counted).
//
//   mpirun -np 2 tinygan_bench_distributed [--models dcgan,...] [--threads 1] [--repeats N] [--warmup N]
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <tinygan/dist/communicator.hpp>
#include <tinygan/dist/modules.hpp>
#include <tinygan/gan.hpp>

#include "bench_models.hpp"
#include "harness.hpp"

using namespace tinygan;

namespace {

struct Measured {
  bench::Timing iteration, all_reduce;
};

// Times m's training iterations, data-parallel over comm when given.
Measured measure_model(const bench::BenchModel& m, dist::Communicator* comm, int warmup, int repeats) {
  Rng rng(42);
  gan::Trainer trainer = bench::make_trainer(m, rng);
  Measured out;
  if (comm) {
    dist::broadcast_module(*comm, trainer.generator());
    dist::broadcast_module(*comm, trainer.discriminator());
    trainer.distribute(*comm);
    dist::GradientAverager<float> g(*comm, trainer.generator()), d(*comm, trainer.discriminator());
    out.all_reduce = bench::measure([&] { g.average(), d.average(); }, warmup, repeats);
  }
  Rng data(43 + static_cast<std::uint64_t>(comm ? comm->rank() : 0));
  Tensor<float> real = Tensor<float>::rand(bench::batch_of(m.real_batch, m.sample), data, -1, 1);
  Tensor<float> fake_input = Tensor<float>::rand({m.fake_batch, 784}, data), g_input = fake_input;
  out.iteration = bench::measure(
      [&] {
        if (m.latent) {
          fake_input = Tensor<float>::randn({m.fake_batch, m.latent}, data);
          g_input = Tensor<float>::randn({m.g_batch, m.latent}, data);
        }
        trainer.step(real, fake_input, g_input);
      },
      warmup, repeats);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const bench::CommandLine cli("tinygan_bench_distributed", "[--models dcgan,dense,dense-bn,minimal,inverted] [--threads N] [--repeats N] [--warmup N] (under mpirun -np N)");
  std::vector<const bench::BenchModel*> chosen;
  int threads = 1, repeats = 0, warmup = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&] {
      if (i + 1 >= argc) cli.fail(arg + " needs a value");
      return std::string(argv[++i]);
    };
    if (arg == "--models") {
      for (const auto& name : bench::split_commas(value())) {
        const bench::BenchModel* m = bench::find_model(name);
        if (!m) cli.fail("unknown model '" + name + "'");
        chosen.push_back(m);
      }
    } else if (arg == "--threads") threads = cli.count(arg, value());
    else if (arg == "--repeats") repeats = cli.count(arg, value());
    else if (arg == "--warmup") warmup = cli.count(arg, value());
    else cli.fail("unknown option '" + arg + "'");
  }
  if (chosen.empty())
    for (const auto& m : bench::bench_models())
      if (!m.classes) chosen.push_back(&m);  // the conditional models' labels: bench_iterations times them
  for (const bench::BenchModel* m : chosen)
    if (m->classes) cli.fail("'" + m->name + "' is conditional: tinygan_bench_iterations times it");
  try {
    dist::Communicator comm;
    set_num_threads(threads);
    set_flush_denormals(true);
    if (comm.is_root())
      std::printf("%d rank(s) of %d thread(s); each rank trains the model's batch. Medians (p10-p90).\n"
                  "%-9s %22s %22s %9s %12s %14s %10s\n", comm.size(), threads, "model", "1 rank ms/it",
                  "all ranks ms/it", "speed-up", "samples/s", "all-reduce ms", "allocs/it");
    for (const bench::BenchModel* m : chosen) {
      const int n = repeats ? repeats : std::max(10, m->repeats / 3);
      Measured alone;
      if (comm.is_root()) alone = measure_model(*m, nullptr, warmup, n);
      comm.barrier("waiting for rank 0's single-process run");
      const Measured together = measure_model(*m, &comm, warmup, n);
      if (!comm.is_root()) continue;
      const double speedup = comm.size() * alone.iteration.median_ms / together.iteration.median_ms;
      char one[64], all[64], reduce[64];
      std::snprintf(one, sizeof one, "%.2f (%.2f-%.2f)", alone.iteration.median_ms, alone.iteration.low_ms,
                    alone.iteration.high_ms);
      std::snprintf(all, sizeof all, "%.2f (%.2f-%.2f)", together.iteration.median_ms, together.iteration.low_ms,
                    together.iteration.high_ms);
      std::snprintf(reduce, sizeof reduce, "%.2f", together.all_reduce.median_ms);
      std::printf("%-9s %22s %22s %8.2fx %12.0f %14s %10.1f\n", m->name.c_str(), one, all, speedup,
                  1000.0 * static_cast<double>(comm.size() * m->real_batch) / together.iteration.median_ms, reduce,
                  together.iteration.allocations_per_call);
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tinygan_bench_distributed: %s\n", e.what());
    return 1;
  }
  return 0;
}
