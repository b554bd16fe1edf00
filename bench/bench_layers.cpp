// Forward and forward+backward time of every layer shape of the MNIST GANs,
// and of the 4x4 stride-2 convolutions of pytorch/examples' 64x64x3 DCGAN, at
// batch 64, each beside the machine's single-precision GEMM peak at the same
// thread count, so that a layer's GFLOP/s read as a share of the best Eigen
// can do. For the dense layers and the 1-channel convolutions, whose cost is
// Eigen's products, a third row times those products alone. bench/compare_torch.py
// matches the layer names with PyTorch's.
//
//   tinygan_bench_layers [--threads 1,2] [--repeats N] [--warmup N] [--layers SUBSTRING] [--json]
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <tinygan/gan.hpp>

#include "harness.hpp"

using namespace tinygan;

namespace {

constexpr Index kBatch = 64;

// Convolutions and Dense layers are GEMM-bound and reported in GFLOP/s, as a
// share of the GEMM peak; BatchNorm and LeakyReLU are memory-bound, in GB/s.
enum class Rate { gflops, gbps };

struct LayerCase {
  std::string name;  // as bench/compare_torch.py spells it
  Shape input;
  std::function<std::unique_ptr<nn::Module<float>>()> make;
  Rate rate;
  // FLOPs: 2 x the forward's multiply-adds (bias and loss not counted); the
  // backward's input and weight gradients each cost as much, so
  // forward+backward is 3x. Bytes (float32): the forward reads x and writes y,
  // 8 per element; the backward reads dy and x and writes dx, so
  // forward+backward is 20 per element. Per-feature vectors are not counted.
  double forward_work;
  // For the layers whose cost is Eigen's products: the same products alone,
  // at the same shapes and layouts (a callable doing one forward+backward's
  // worth), so the table shows what Eigen's kernel itself reaches on them.
  std::function<std::function<void()>()> eigen_products;
  double both_work() const { return rate == Rate::gflops ? 3 * forward_work : 2.5 * forward_work; }
};

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Dense's three products (linear.hpp's order and layouts) after zeroing the
// gradients they add to; no bias.
std::function<std::function<void()>()> dense_products(Index in, Index out) {
  return [=] {
    auto m = std::make_shared<std::array<RowMajor, 6>>(std::array<RowMajor, 6>{
        RowMajor::Random(kBatch, in), RowMajor::Random(out, in), RowMajor(kBatch, out),
        RowMajor::Random(kBatch, out), RowMajor(kBatch, in), RowMajor(out, in)});
    return [m] {
      auto& [x, w, y, dy, dx, dw] = *m;
      dx.setZero();
      dw.setZero();
      gemm(y, x, w.transpose());
      gemm(dx, dy, w, Accumulate::yes);
      gemm(dw, dy.transpose(), x, Accumulate::yes);
    };
  };
}

// The 1-channel convolutions' per-sample products (sample_conv.hpp): weight
// [64, 25] with each sample's columns [25, 196] and its 64-channel plane
// [64, 196], three products per sample, with the columns already built (no
// im2col or col2im).
std::function<std::function<void()>()> one_channel_conv_products() {
  return [] {
    constexpr Index oc = 64, rows = 25, pixels = 196;
    auto m = std::make_shared<std::array<RowMajor, 5>>(std::array<RowMajor, 5>{
        RowMajor::Random(oc, rows), RowMajor::Random(kBatch * oc, pixels), RowMajor::Random(kBatch * rows, pixels),
        RowMajor(kBatch * oc, pixels), RowMajor(kBatch * rows, pixels)});
    // One weight-gradient sum per thread, made here so the timed calls allocate nothing.
    auto sums = std::make_shared<std::vector<Eigen::MatrixXf>>(num_threads(), Eigen::MatrixXf(oc, rows));
    return [m, sums] {
      auto& [w, planes, cols, out, dcols] = *m;
#pragma omp parallel num_threads(static_cast<int>(sums->size()))
      {
        Eigen::MatrixXf& dw = (*sums)[static_cast<std::size_t>(omp_get_thread_num())];
        dw.setZero();
#pragma omp for schedule(static)
        for (Index n = 0; n < kBatch; ++n) {
          const auto c = cols.middleRows(n * rows, rows);
          const auto p = planes.middleRows(n * oc, oc);
          out.middleRows(n * oc, oc).noalias() = w * c;
          dw.noalias() += p * c.transpose();
          dcols.middleRows(n * rows, rows).noalias() = w.transpose() * p;
        }
      }
    };
  };
}

template <class M, class... Args>
auto maker(Args... args) {
  return [=]() -> std::unique_ptr<nn::Module<float>> { return std::make_unique<M>(args...); };
}

std::vector<LayerCase> layer_cases() {
  using namespace nn;
  using Conv = Conv2DOptions;
  using ConvT = Conv2DTransposeOptions;
  const double b = kBatch;
  // Conv2D does C*k*k multiply-adds per output value; Conv2DTranspose, its
  // input-gradient twin, OC*k*k per input value.
  return {
      {"dense 100->12544", {kBatch, 100}, maker<Dense<float>>(DenseOptions(100, 12544).bias(false)),
       Rate::gflops, 2 * b * 100 * 12544, dense_products(100, 12544)},
      {"dense 784->1024", {kBatch, 784}, maker<Dense<float>>(DenseOptions(784, 1024)), Rate::gflops,
       2 * b * 784 * 1024, dense_products(784, 1024)},
      {"dense 1024->1024", {kBatch, 1024}, maker<Dense<float>>(DenseOptions(1024, 1024)), Rate::gflops,
       2 * b * 1024 * 1024, dense_products(1024, 1024)},
      {"dense 1024->784", {kBatch, 1024}, maker<Dense<float>>(DenseOptions(1024, 784)), Rate::gflops,
       2 * b * 1024 * 784, dense_products(1024, 784)},
      {"conv2d 1->64 k5s2 28x28", {kBatch, 1, 28, 28}, maker<Conv2D<float>>(Conv(1, 64, 5).stride(2).padding(2)),
       Rate::gflops, 2 * b * 64 * 14 * 14 * 1 * 25, one_channel_conv_products()},
      {"conv2d 64->128 k5s2 14x14", {kBatch, 64, 14, 14},
       maker<Conv2D<float>>(Conv(64, 128, 5).stride(2).padding(2)), Rate::gflops,
       2 * b * 128 * 7 * 7 * 64 * 25, {}},
      {"convT 256->128 k5s1 7x7", {kBatch, 256, 7, 7},
       maker<Conv2DTranspose<float>>(ConvT(256, 128, 5).padding(2).bias(false)), Rate::gflops,
       2 * b * 256 * 7 * 7 * 128 * 25, {}},
      {"convT 128->64 k5s2 7x7", {kBatch, 128, 7, 7},
       maker<Conv2DTranspose<float>>(ConvT(128, 64, 5).stride(2).padding(2).output_padding(1).bias(false)),
       Rate::gflops, 2 * b * 128 * 7 * 7 * 64 * 25, {}},
      {"convT 64->1 k5s2 14x14", {kBatch, 64, 14, 14},
       maker<Conv2DTranspose<float>>(ConvT(64, 1, 5).stride(2).padding(2).output_padding(1).bias(false)),
       Rate::gflops, 2 * b * 64 * 14 * 14 * 1 * 25, one_channel_conv_products()},
      // pytorch/examples' 64x64x3 DCGAN (examples/models/pytorch_dcgan.hpp): D's
      // 4x4 stride-2 convolutions and G's transposed ones, inputs as they arrive.
      {"conv2d 3->64 k4s2 64x64", {kBatch, 3, 64, 64},
       maker<Conv2D<float>>(Conv(3, 64, 4).stride(2).padding(1).bias(false)), Rate::gflops,
       2 * b * 64 * 32 * 32 * 3 * 16, {}},
      {"conv2d 64->128 k4s2 32x32", {kBatch, 64, 32, 32},
       maker<Conv2D<float>>(Conv(64, 128, 4).stride(2).padding(1).bias(false)), Rate::gflops,
       2 * b * 128 * 16 * 16 * 64 * 16, {}},
      {"conv2d 128->256 k4s2 16x16", {kBatch, 128, 16, 16},
       maker<Conv2D<float>>(Conv(128, 256, 4).stride(2).padding(1).bias(false)), Rate::gflops,
       2 * b * 256 * 8 * 8 * 128 * 16, {}},
      {"conv2d 256->512 k4s2 8x8", {kBatch, 256, 8, 8},
       maker<Conv2D<float>>(Conv(256, 512, 4).stride(2).padding(1).bias(false)), Rate::gflops,
       2 * b * 512 * 4 * 4 * 256 * 16, {}},
      {"convT 512->256 k4s2 4x4", {kBatch, 512, 4, 4},
       maker<Conv2DTranspose<float>>(ConvT(512, 256, 4).stride(2).padding(1).bias(false)), Rate::gflops,
       2 * b * 512 * 4 * 4 * 256 * 16, {}},
      {"convT 256->128 k4s2 8x8", {kBatch, 256, 8, 8},
       maker<Conv2DTranspose<float>>(ConvT(256, 128, 4).stride(2).padding(1).bias(false)), Rate::gflops,
       2 * b * 256 * 8 * 8 * 128 * 16, {}},
      {"convT 128->64 k4s2 16x16", {kBatch, 128, 16, 16},
       maker<Conv2DTranspose<float>>(ConvT(128, 64, 4).stride(2).padding(1).bias(false)), Rate::gflops,
       2 * b * 128 * 16 * 16 * 64 * 16, {}},
      {"convT 64->3 k4s2 32x32", {kBatch, 64, 32, 32},
       maker<Conv2DTranspose<float>>(ConvT(64, 3, 4).stride(2).padding(1).bias(false)), Rate::gflops,
       2 * b * 64 * 32 * 32 * 3 * 16, {}},
      {"batchnorm 12544", {kBatch, 12544}, maker<BatchNorm<float>>(Index{12544}), Rate::gbps, 8 * b * 12544, {}},
      {"batchnorm2d 128 7x7", {kBatch, 128, 7, 7}, maker<BatchNorm<float>>(Index{128}), Rate::gbps,
       8 * b * 128 * 7 * 7, {}},
      {"leakyrelu 64x12544", {kBatch, 12544}, maker<LeakyReLU<float>>(0.2), Rate::gbps, 8 * b * 12544, {}},
  };
}

struct Options {
  std::vector<int> threads = {1, 2};
  int repeats = 0;  // 0: about 1.5 s of calls per measurement
  int warmup = 3;
  std::string layers;  // substring filter on the names
  bool json = false;
};

// With no --repeats, the warm-up calls are timed too and size the repeat count.
bench::Timing time_calls(const std::function<void()>& call, const Options& o) {
  if (o.repeats) return bench::measure(call, o.warmup, o.repeats);
  const bench::Timing warm = bench::measure(call, 0, o.warmup);
  const int repeats = std::clamp(static_cast<int>(1500.0 / std::max(warm.median_ms, 1e-3)), 5, 100000);
  return bench::measure(call, 0, repeats);
}

// Per millisecond, 1e6 FLOPs or bytes make one GFLOP/s or GB/s.
double per_second(double work, const bench::Timing& t) { return work / (t.median_ms * 1e6); }

// Single-precision GEMM at this thread count, as tinygan's layers run theirs
// (tinygan::gemm: Eigen's kernel, shared out over the threads): the ceiling
// for the GEMM-bound layers.
double gemm_peak(int threads, const Options& o) {
  constexpr Index n = 2048;
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n), b = Eigen::MatrixXf::Random(n, n);
  Eigen::MatrixXf c(n, n);
  const bench::Timing t = time_calls([&] { gemm(c, a, b); }, o);
  const double gflops = per_second(2.0 * n * n * n, t);
  if (o.json) {
    bench::JsonLine()
        .field("kind", "gemm_peak").field("threads", threads).field("gflops", gflops)
        .field("median_ms", t.median_ms).field("p10_ms", t.low_ms).field("p90_ms", t.high_ms)
        .field("repeats", t.samples)
        .print();
  } else {
    std::printf("%d thread%s: GEMM 2048x2048x2048 peak %.1f GFLOP/s (%.2f ms, p10 %.2f, p90 %.2f, %d repeats)\n",
                threads, threads == 1 ? "" : "s", gflops, t.median_ms, t.low_ms, t.high_ms, t.samples);
    std::printf("  %-26s %-16s %10s %9s %9s %8s %15s %10s\n", "layer", "pass", "median ms", "p10 ms", "p90 ms",
                "repeats", "rate", "peak share");
    std::fflush(stdout);
  }
  return gflops;
}

void report(const LayerCase& layer, int threads, const char* pass, const bench::Timing& t, double work,
            double peak, const Options& o) {
  const double rate = per_second(work, t);
  const bool flops = layer.rate == Rate::gflops;
  if (o.json) {
    bench::JsonLine line;
    line.field("kind", "layer").field("layer", layer.name).field("threads", threads).field("pass", pass)
        .field("median_ms", t.median_ms).field("p10_ms", t.low_ms).field("p90_ms", t.high_ms)
        .field("repeats", t.samples).field(flops ? "gflops" : "gbps", rate);
    if (flops) line.field("peak_share", rate / peak);
    line.print();
  } else {
    std::printf("  %-26s %-16s %10.3f %9.3f %9.3f %8d %7.1f %s", layer.name.c_str(), pass, t.median_ms,
                t.low_ms, t.high_ms, t.samples, rate, flops ? "GFLOP/s" : "GB/s");
    if (flops) std::printf(" %9.0f%%", 100 * rate / peak);
    std::printf("\n");
    std::fflush(stdout);
  }
}

void run_layer(const LayerCase& layer, int threads, double peak, const Options& o) {
  Rng rng(42);
  const std::unique_ptr<nn::Module<float>> module = layer.make();  // training mode, as in a GAN step
  Var<float> x(Tensor<float>::randn(layer.input, rng), true);
  std::vector<Var<float>> params = module->parameters();

  const auto forward = [&] {
    NoGrad no_grad;
    module->forward(x);
  };
  // Backward starts from a fixed random upstream gradient, as in
  // compare_torch.py; grads are zeroed, not freed, so every call reuses the
  // same buffers.
  const Tensor<float> upstream = [&] {
    NoGrad no_grad;
    return Tensor<float>::randn(module->forward(x).shape(), rng);
  }();
  const auto forward_backward = [&] {
    x.zero_grad();
    for (auto& p : params) p.zero_grad();
    backward(module->forward(x), upstream);
  };
  report(layer, threads, "forward", time_calls(forward, o), layer.forward_work, peak, o);
  report(layer, threads, "forward+backward", time_calls(forward_backward, o), layer.both_work(), peak, o);
  if (layer.eigen_products)
    report(layer, threads, "Eigen's products", time_calls(layer.eigen_products(), o), layer.both_work(), peak, o);
}

}  // namespace

int main(int argc, char** argv) {
  const bench::CommandLine cli("tinygan_bench_layers", "[--threads 1,2] [--repeats N] [--warmup N] [--layers SUBSTRING] [--json]");
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&] {
      if (i + 1 >= argc) cli.fail(arg + " needs a value");
      return std::string(argv[++i]);
    };
    if (arg == "--threads") {
      o.threads.clear();
      for (const auto& t : bench::split_commas(value())) o.threads.push_back(cli.count(arg, t));
      if (o.threads.empty()) cli.fail("--threads needs at least one count");
    } else if (arg == "--repeats") o.repeats = cli.count(arg, value());
    else if (arg == "--warmup") o.warmup = cli.count(arg, value());
    else if (arg == "--layers") o.layers = value();
    else if (arg == "--json") o.json = true;
    else cli.fail("unknown option '" + arg + "'");
  }
  std::vector<LayerCase> chosen;
  for (auto& layer : layer_cases())
    if (layer.name.find(o.layers) != std::string::npos) chosen.push_back(std::move(layer));
  if (chosen.empty()) cli.fail("--layers '" + o.layers + "' matches no layer name");

  try {
    for (int threads : o.threads) {
      set_num_threads(threads);
      set_flush_denormals(true);  // as the example programs run
      const double peak = gemm_peak(threads, o);
      for (const auto& layer : chosen) run_layer(layer, threads, peak, o);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tinygan_bench_layers: %s\n", e.what());
    return 1;
  }
  return 0;
}
