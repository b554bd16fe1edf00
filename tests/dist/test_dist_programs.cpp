// The example programs under mpirun on the committed MNIST fixture: ranks
// with batch b end with the weights of one process with the joint batch, a
// checkpoint resumes on another number of ranks, and a failing or killed rank
// ends the whole job with a clear error instead of a hang.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "tinygan/gan.hpp"
#include "../e2e/processes.hpp"
#include "../test_util.hpp"

namespace fs = std::filesystem;
using namespace tinygan;
using namespace tinygan::testing::processes;
using tinygan::testing::contains;
using tinygan::testing::read_bytes;

namespace {

const std::string kMpirun = TINYGAN_MPIRUN;  // "mpiexec -n 2 --oversubscribe --allow-run-as-root"
const std::string kData = std::string(" --data ") + TINYGAN_FIXTURE_DIR + "/mnist --no-fetch --threads 1";

// How the same-named tensors of two safetensors files differ (those named in
// `skip` left out): the largest difference, and the share of elements that
// differ by more than `tolerance`.
struct Difference {
  double largest = 0, share_above = 0;
};
Difference difference(const std::string& a, const std::string& b, double tolerance,
                      const std::set<std::string>& skip = {}) {
  const auto ours = io::load_safetensors<float>(a), theirs = io::load_safetensors<float>(b);
  REQUIRE(ours.tensors.size() == theirs.tensors.size());
  Difference result;
  Index above = 0, count = 0;
  for (const auto& [name, t] : ours.tensors) {
    if (skip.count(name)) continue;
    const auto it = theirs.tensors.find(name);
    REQUIRE(it != theirs.tensors.end());
    REQUIRE(it->second.shape() == t.shape());
    for (Index i = 0; i < t.numel(); ++i) {
      const double gap = std::abs(static_cast<double>(t[i]) - it->second[i]);
      result.largest = std::max(result.largest, gap);
      above += gap > tolerance;
    }
    count += t.numel();
  }
  result.share_above = count ? static_cast<double>(above) / static_cast<double>(count) : 0;
  return result;
}

int count_of(const std::string& text, const std::string& part) {
  int n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// The pid of rank `rank` of a running mpirun job of `program`, from /proc.
pid_t find_rank(const std::string& program, int rank) {
  const std::string wanted = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string command = read_bytes("/proc/" + pid + "/cmdline");
    if (command.rfind(program, 0) != 0) continue;
    const std::string environment = read_bytes("/proc/" + pid + "/environ");
    for (std::size_t at = 0; at < environment.size(); at = environment.find('\0', at) + 1) {
      if (environment.compare(at, wanted.size() + 1, wanted + '\0') == 0) return static_cast<pid_t>(std::stoi(pid));
      if (environment.find('\0', at) == std::string::npos) break;
    }
  }
  return 0;
}

}  // namespace

TEST_CASE("mpirun: 2 ranks of batch 8 end with the weights of 1 process of batch 16 (dcgan, --sync-bn)") {
  const std::string two = fresh_dir("dist_two"), one = fresh_dir("dist_one");
  const std::string args = kData + " --fid-samples 0 --iters 4";
  const Result distributed =
      run(kMpirun + " " + MNIST_DCGAN, args + " --distributed --sync-bn --batch 8 --out " + two);
  INFO(distributed.output);
  REQUIRE(distributed.code == 0);
  const Result alone = run(MNIST_DCGAN, args + " --batch 16 --out " + one);
  REQUIRE(alone.code == 0);
  // Only rank 0 prints, and says how the run is split.
  CHECK(count_of(distributed.output, "Training dcgan") == 1);
  CHECK(contains(distributed.output, "on each of 2 ranks (synchronized BatchNorm)"));
  CHECK(contains(read_bytes(two + "/config.json"), "\"ranks\": 2"));
  // Float sums in another order differ by rounding. Adam's first steps divide
  // each gradient by its own size, so on the few weights whose gradient is
  // near zero rounding becomes a full step (lr 2e-4) of either sign; with the
  // Winograd layer's rounding (about 1e-5 of the largest value,
  // ops/winograd_conv.hpp) a thousand or so of G's 2.3 million weights do
  // that in four steps. So the check is that nearly all weights agree to
  // 1e-4 (found: all but 0.05-0.12% of G's and 0.01-0.02% of D's); without
  // synchronized BatchNorm most do not (73% and 35%).
  const Difference g = difference(two + "/generator.safetensors", one + "/generator.safetensors", 1e-4);
  // D's second convolution has a bias and feeds a BatchNorm, which removes it:
  // its exact gradient is zero, so it gets rounding noise, which Adam turns
  // into full steps of any sign; the BatchNorm's running mean follows that
  // bias. Neither can match, so both are left out.
  const Difference d = difference(two + "/discriminator.safetensors", one + "/discriminator.safetensors", 1e-4,
                                  {"3.bias", "4.running_mean"});
  MESSAGE("weights differing by more than 1e-4: generator " << g.share_above << " (largest " << g.largest
                                                            << "), discriminator " << d.share_above << " (largest "
                                                            << d.largest << ")");
  CHECK(g.share_above < 1e-2);
  CHECK(d.share_above < 1e-2);
  // And the check can fail: without synchronized BatchNorm the model is another one.
  const std::string unsynced = fresh_dir("dist_unsynced");
  REQUIRE(run(kMpirun + " " + MNIST_DCGAN, args + " --distributed --batch 8 --out " + unsynced).code == 0);
  CHECK(difference(unsynced + "/generator.safetensors", one + "/generator.safetensors", 1e-4).share_above > 0.1);
}

TEST_CASE("mpirun: a checkpoint resumes on another number of ranks") {
  const std::string out = fresh_dir("dist_resume");
  const std::string args = " --model minimal" + kData + " --fid-samples 0 --batch 16 --out " + out;
  const Result two = run(kMpirun + " " + MNIST_DENSE, args + " --distributed --iters 4");
  INFO(two.output);
  REQUIRE(two.code == 0);
  const Result one = run(MNIST_DENSE, args + " --iters 7 --resume " + out + "/checkpoint.safetensors");
  INFO(one.output);
  CHECK(one.code == 0);
  CHECK(contains(one.output, "Resuming minimal from"));
  CHECK(contains(one.output, "at iteration 4"));
  CHECK(contains(one.output, "Done: 7 iterations"));
  const Result again = run(kMpirun + " " + MNIST_DENSE,
                           args + " --distributed --iters 9 --resume " + out + "/checkpoint.safetensors");
  INFO(again.output);
  CHECK(again.code == 0);
  CHECK(contains(again.output, "at iteration 7"));
  CHECK(contains(again.output, "Done: 9 iterations"));
}

TEST_CASE("mpirun: the inverted autoencoder and the dense GAN train on 2 ranks, rank 0 writing the outputs") {
  for (const auto& [program, model] : {std::pair{std::string(MNIST_INVERTED), std::string()},
                                       std::pair{std::string(MNIST_DENSE), std::string(" --model dense-bn --sync-bn")}}) {
    const std::string out = fresh_dir("dist_program");
    const Result r = run(kMpirun + " " + program, model + kData + " --fid-samples 0 --batch 16 --iters 3 --distributed --out " + out);
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(contains(r.output, "on each of 2 ranks"));
    CHECK(count_of(r.output, "Done: 3 iterations") == 1);
    CHECK(fs::exists(out + "/generator.safetensors"));
    CHECK(fs::exists(out + "/checkpoint.safetensors"));
  }
}

TEST_CASE("mpirun: an error on the ranks names the rank and ends the job") {
  const Result r = run(kMpirun + " " + MNIST_DENSE,
                       " --model minimal" + kData + " --fid-samples 0 --iters 2 --distributed --sync-bn --out " +
                           fresh_dir("dist_error"));
  INFO(r.output);
  CHECK(r.code != 0);
  CHECK(contains(r.output, "mnist_dense (rank 0 of 2): error: mnist_dense: --sync-bn: the minimal model has no BatchNorm layer"));
}

TEST_CASE("mpirun: a rank killed mid-run makes the others stop with a clear error, not hang") {
  const std::string out = fresh_dir("dist_kill");
  const std::string log = out + ".log";
  fs::create_directories(out);
  const pid_t job = start_in_background(kMpirun + " " + MNIST_DENSE + " --model minimal" + kData +
                                        " --fid-samples 0 --iters 1000000 --checkpoint-every 5 --distributed --out " +
                                        out + " > " + log + " 2>&1");
  for (int i = 0; i < 400 && !fs::exists(out + "/checkpoint.safetensors"); ++i) usleep(50000);
  REQUIRE(fs::exists(out + "/checkpoint.safetensors"));
  const pid_t rank1 = find_rank(MNIST_DENSE, 1);
  REQUIRE(rank1 > 0);
  REQUIRE(kill(rank1, SIGKILL) == 0);
  const int status = wait_until_gone(job, 60);
  const std::string output = read_bytes(log);
  INFO(output);
  REQUIRE(status != -1);  // it ended: no hang
  CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
  // mpirun's words, and rank 0's own: where it stopped and what is saved.
  CHECK(contains(output, "exited on signal 9"));
  CHECK(contains(output, "mnist_dense (rank 0 of 2): error: training stopped at iteration "));
  CHECK(contains(output, "terminated by the launcher while waiting for the other ranks in "));
  CHECK(contains(output, "Last checkpoint: " + out + "/checkpoint.safetensors, iteration "));
}
