// End to end: the example programs themselves, run on the committed MNIST
// fixture (300 training and 100 test images): summaries, short training runs
// and their outputs, resuming, generating from saved weights, bad flags.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>


#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tinygan/gan.hpp"  // with data/stb_image.hpp's decoder
#include "../test_util.hpp"
#include "processes.hpp"

namespace fs = std::filesystem;
using tinygan::testing::contains;
using tinygan::testing::load_picture;
using tinygan::testing::read_bytes;
using namespace tinygan::testing::processes;

namespace {
// Scoring 64 samples per epoch keeps the runs short and still exercises it.
const std::string kData = std::string(" --data ") + TINYGAN_FIXTURE_DIR + "/mnist --no-fetch --threads 2 --fid-samples 64";


void expect_png(const std::string& path) {
  INFO(path);
  int w = 0, h = 0, channels = 0;
  unsigned char* pixels = load_picture(path, &w, &h, &channels);
  REQUIRE(pixels != nullptr);
  CHECK(w >= 56);
  CHECK(h >= 56);
  stbi_image_free(pixels);
}

// A CSV the programs write: this header, then `rows` rows of finite numbers.
void expect_csv(const std::string& path, const std::string& header, int rows_expected) {
  INFO(path);
  std::ifstream in(path);
  REQUIRE(in.good());
  std::string line;
  std::getline(in, line);
  CHECK(line == header);
  int rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    std::stringstream fields(line);
    std::string field;
    for (int k = 0; std::getline(fields, field, ','); ++k) CHECK(std::isfinite(std::stod(field)));
  }
  CHECK(rows == rows_expected);
}

// losses.csv: one row per iteration.
void expect_losses(const std::string& path, int iterations) {
  expect_csv(path, "iteration,epoch,d_loss,g_loss,d_acc_real,d_acc_fake,seconds", iterations);
}

// metrics.csv: one row per scored epoch.
void expect_metrics(const std::string& path, int scored) {
  expect_csv(path, "epoch,iteration,seconds,fid,inception_score,confident_share,classes_covered,smallest_class_share,samples", scored);
}

// `program args` resumed in `split` from its checkpoint up to `iterations`, and run for
// `iterations` in one go in `whole`, end with the same weights, bit for bit. Returns the resumed run.
Result expect_resumed_equal(const std::string& program, const std::string& args, int iterations,
                            const std::string& split, const std::string& whole) {
  const std::string length = " --iters " + std::to_string(iterations);
  const Result resumed = run(program, args + length + " --out " + split + " --resume " + split + "/checkpoint.safetensors");
  INFO(resumed.output);
  REQUIRE(resumed.code == 0);
  REQUIRE(run(program, args + length + " --out " + whole).code == 0);
  CHECK(read_bytes(split + "/generator.safetensors") == read_bytes(whole + "/generator.safetensors"));
  CHECK(read_bytes(split + "/discriminator.safetensors") == read_bytes(whole + "/discriminator.safetensors"));
  return resumed;
}
}  // namespace

TEST_CASE("e2e summary counts equal docs/models.md for every program") {
  const Result dcgan = run(MNIST_DCGAN, "--summary");
  CHECK(dcgan.code == 0);
  CHECK(contains(dcgan.output, "Total params: 2,330,944"));
  CHECK(contains(dcgan.output, "Trainable params: 2,305,472"));
  CHECK(contains(dcgan.output, "Total params: 213,377"));
  CHECK(contains(dcgan.output, "Trainable params: 213,121"));

  const Result dense = run(MNIST_DENSE, "--model dense --summary");
  CHECK(contains(dense.output, "Total params: 1,486,352"));
  CHECK(contains(dense.output, "Total params: 1,460,225"));
  const Result dense_bn = run(MNIST_DENSE, "--model dense-bn --summary");
  CHECK(contains(dense_bn.output, "Total params: 1,493,520"));
  CHECK(contains(dense_bn.output, "Trainable params: 1,489,936"));
  const Result minimal = run(MNIST_DENSE, "--model minimal --summary");
  CHECK(contains(minimal.output, "Total params: 227,344"));
  CHECK(contains(minimal.output, "Total params: 201,217"));

  const Result inverted = run(MNIST_INVERTED, "--summary");
  CHECK(contains(inverted.output, "Total params: 1,153,712"));
  CHECK(contains(inverted.output, "Total params: 533,505"));
  CHECK(contains(inverted.output, "Total params: 1,687,217"));
  CHECK(contains(inverted.output, "Trainable params: 1,153,712"));
}

TEST_CASE("e2e --version prints the program and tinygan's version") {
  const std::pair<std::string, std::string> programs[] = {{MNIST_DCGAN, "mnist_dcgan"}, {MNIST_DENSE, "mnist_dense"},
                                                          {MNIST_INVERTED, "mnist_inverted"},
                                                          {TINYGAN_SCORE, "tinygan-score"},
                                                          {IMAGE_CLASSIFIER, "image_classifier"},
                                                          {IMAGE_DCGAN, "image_dcgan"}};
  for (const auto& program_and_name : programs) {
    const Result r = run(program_and_name.first, "--version");
    CHECK(r.code == 0);
    CHECK(r.output == program_and_name.second + " (tinygan " + TINYGAN_VERSION_STRING + ")\n");
  }
}

TEST_CASE("e2e a short run of each program writes every output") {
  // scored: metrics.csv rows. The fixture's 300 digits make 4 iterations an
  // epoch at batch 64 (scored at 4 and at the end) and 9 at batch 32 (at the end).
  struct Case { std::string program, args, name; bool noise; int scored; };
  const Case cases[] = {{MNIST_DCGAN, "", "dcgan", true, 2},
                        {MNIST_DENSE, "--model dense", "dense", true, 2},
                        {MNIST_DENSE, "--model dense-bn", "dense-bn", true, 1},
                        {MNIST_DENSE, "--model minimal", "minimal", true, 1},
                        {MNIST_INVERTED, "", "inverted", false, 0}};
  for (const Case& c : cases) {
    INFO(c.name);
    const std::string out = fresh_dir("run_" + c.name);
    const Result r = run(c.program, c.args + kData + " --iters 6 --out " + out);
    INFO(r.output);
    REQUIRE(r.code == 0);
    for (const char* file : {"config.json", "losses.csv", "loss_plot.png", "samples_final.png",
                             "generator.safetensors", "discriminator.safetensors", "checkpoint.safetensors",
                             "metrics.csv", "fid_plot.png", "generator_best.safetensors"})
      CHECK(fs::exists(fs::path(out) / file));
    expect_png(out + "/samples_final.png");
    expect_png(out + "/loss_plot.png");
    expect_png(out + "/fid_plot.png");
    expect_losses(out + "/losses.csv", 6);
    if (c.scored) expect_metrics(out + "/metrics.csv", c.scored);
    CHECK(contains(r.output, "FID "));
    // config.json is valid JSON with every setting.
    const auto config = tinygan::json::parse(read_bytes(out + "/config.json"), "config.json").object();
    CHECK(config.at("model").string() == c.name);
    CHECK(config.at("seed").number() == 42);
    CHECK(config.at("beta2").number() == doctest::Approx(0.999));
    CHECK(config.at("tinygan_version").string() == TINYGAN_VERSION_STRING);
    CHECK(config.count("init") == 1);
    if (!c.noise) expect_png(out + "/test_inverted.png");
    // No temporary file is left behind.
    for (const auto& entry : fs::directory_iterator(out)) CHECK_FALSE(contains(entry.path().string(), ".tmp."));
  }
}

TEST_CASE("e2e resume: 4 steps then 4 resumed equal 8 in one go, bit for bit") {
  const std::string split = fresh_dir("resume_split"), whole = fresh_dir("resume_whole");
  REQUIRE(run(MNIST_DCGAN, kData + " --iters 4 --out " + split).code == 0);
  CHECK(contains(expect_resumed_equal(MNIST_DCGAN, kData, 8, split, whole).output, "Resuming dcgan"));
  expect_losses(split + "/losses.csv", 8);
}

TEST_CASE("e2e the recipe switches train, are recorded in config.json, and resume bit for bit") {
  const std::string switches = " --label-smoothing 0.1 --d-logits --ema 0.99 --d-steps 2 --reuse-fakes --lr-g 3e-4";
  const std::string split = fresh_dir("switches_split"), whole = fresh_dir("switches_whole");
  const Result first = run(MNIST_DCGAN, kData + switches + " --iters 3 --out " + split);
  INFO(first.output);
  REQUIRE(first.code == 0);
  const auto config = tinygan::json::parse(read_bytes(split + "/config.json"), "config.json").object();
  CHECK(config.at("real_label").number() == doctest::Approx(0.9));
  CHECK(config.at("d_logits").boolean());
  CHECK(config.at("ema_decay").number() == doctest::Approx(0.99));
  CHECK(config.at("d_steps").number() == 2);
  CHECK(config.at("reuse_fakes").boolean());
  CHECK(config.at("lr_g").number() == doctest::Approx(3e-4));
  CHECK(config.at("lr_d").number() == doctest::Approx(2e-4));
  CHECK(config.at("discriminator_loss").string() == "bce_with_logits");
  CHECK(fs::exists(split + "/generator_trained.safetensors"));  // the EMA is generator.safetensors
  // The EMA is saved with BatchNorm statistics measured for its own weights
  // (16 batches), not the trained generator's moving ones.
  const auto ema = tinygan::io::load_safetensors<float>(split + "/generator.safetensors");
  const auto trained = tinygan::io::load_safetensors<float>(split + "/generator_trained.safetensors");
  CHECK(ema.at("1.num_batches_tracked")[0] == 16);
  // 3 iterations of 2 D steps; the G step reuses the second D step's pass through G.
  CHECK(trained.at("1.num_batches_tracked")[0] == 6);
  CHECK(ema.at("1.running_mean")[0] != trained.at("1.running_mean")[0]);
  expect_resumed_equal(MNIST_DCGAN, kData + switches, 6, split, whole);
  CHECK(read_bytes(split + "/generator_trained.safetensors") == read_bytes(whole + "/generator_trained.safetensors"));
  CHECK(read_bytes(split + "/metrics.csv").size() > 0);
  // Resumed without its switches, the run would go on with another recipe:
  // refused before anything is written, naming the first setting that differs.
  const Result forgot = run(MNIST_DCGAN, kData + " --iters 9 --out " + split + " --resume " + split +
                                             "/checkpoint.safetensors");
  INFO(forgot.output);
  CHECK(forgot.code == 1);
  CHECK(contains(forgot.output, "checkpoint.safetensors: trained with lr_g 0.0003, but this run has 0.0002"));
  const auto kept = tinygan::json::parse(read_bytes(split + "/config.json"), "config.json").object();
  CHECK(kept.at("lr_g").number() == doctest::Approx(3e-4));

  // --recipe best is each model's measured recipe; config.json says so.
  const std::string best = fresh_dir("best");
  const Result b = run(MNIST_DENSE, "--model minimal --recipe best" + kData + " --iters 2 --out " + best);
  INFO(b.output);
  REQUIRE(b.code == 0);
  const auto best_config = tinygan::json::parse(read_bytes(best + "/config.json"), "config.json").object();
  CHECK(best_config.at("recipe").string() == "best");
  CHECK(best_config.at("r1_gamma").number() == 1);  // minimal's --recipe best
  // R1 runs through the DCGAN's convolutional D (BatchNorm in train mode), lazily too; config.json records both.
  const std::string r1_conv = fresh_dir("r1_conv");
  const Result conv = run(MNIST_DCGAN, "--r1 1 --r1-every 2" + kData + " --iters 2 --out " + r1_conv);
  INFO(conv.output);
  REQUIRE(conv.code == 0);
  const auto r1_config = tinygan::json::parse(read_bytes(r1_conv + "/config.json"), "config.json").object();
  CHECK(r1_config.at("r1_gamma").number() == 1);
  CHECK(r1_config.at("r1_every").number() == 2);
}

TEST_CASE("e2e WGAN-GP and hinge with spectral norm train the DCGAN's critic; elsewhere they are refused by name") {
  const std::string wgan = fresh_dir("wgan_gp");
  const Result w = run(MNIST_DCGAN, "--wgan-gp" + kData + " --iters 1 --out " + wgan);  // 5 critic steps
  INFO(w.output);
  REQUIRE(w.code == 0);
  const auto config = tinygan::json::parse(read_bytes(wgan + "/config.json"), "config.json").object();
  CHECK(config.at("loss").string() == "wasserstein");
  CHECK(config.at("discriminator_loss").string() == "wasserstein");
  CHECK(config.at("gp_lambda").number() == 10);
  CHECK(config.at("d_steps").number() == 5);
  CHECK(config.at("lr_d").number() == doctest::Approx(1e-4));
  CHECK(config.at("beta1").number() == 0);
  CHECK(config.at("beta2").number() == doctest::Approx(0.9));
  const auto critic = tinygan::io::load_safetensors<float>(wgan + "/discriminator.safetensors");
  CHECK_FALSE(critic.tensors.contains("3.running_mean"));  // no BatchNorm in the critic

  // mnist_dcgan's --recipe best is the hinge loss on the spectrally normalized critic.
  const std::string hinge = fresh_dir("hinge_sn"), whole = fresh_dir("hinge_sn_whole");
  const std::string args = " --recipe best" + kData;
  const Result h = run(MNIST_DCGAN, args + " --iters 1 --out " + hinge);
  INFO(h.output);
  REQUIRE(h.code == 0);
  const auto best = tinygan::json::parse(read_bytes(hinge + "/config.json"), "config.json").object();
  CHECK(best.at("loss").string() == "hinge");
  CHECK(best.at("spectral_norm").boolean());
  CHECK(best.at("ema_decay").number() == doctest::Approx(0.999));
  const auto sn = tinygan::io::load_safetensors<float>(hinge + "/discriminator.safetensors");
  for (const char* name : {"0.weight_orig", "0.weight_u", "0.weight_v", "2.weight_orig", "5.weight_orig"})
    CHECK(sn.tensors.contains(name));  // PyTorch's spectral_norm names
  expect_resumed_equal(MNIST_DCGAN, args, 2, hinge, whole);  // u and v resume too
  // A checkpoint of the former --recipe best (its D with BatchNorm, BCE on logits) is refused, naming the setting.
  const std::string former = fresh_dir("former_best");
  REQUIRE(run(MNIST_DCGAN, " --d-logits --reuse-fakes --lr 4e-4 --ema 0.999" + kData + " --iters 1 --out " + former)
              .code == 0);
  const Result refused_best = run(MNIST_DCGAN, args + " --iters 2 --out " + former + " --resume " + former +
                                                    "/checkpoint.safetensors");
  INFO(refused_best.output);
  CHECK(refused_best.code == 1);
  CHECK(contains(refused_best.output, "trained with loss \"bce\", but this run has \"hinge\""));

  const std::pair<std::string, std::string> refused[] = {
      {MNIST_DENSE, "--gp 10 --iters 1"},
      {IMAGE_DCGAN, "--dataset mnist --size 32 --spectral-norm --iters 1"},
      {IMAGE_DCGAN, "--conditional --wgan-gp --iters 1"},
  };
  for (const auto& program_and_flags : refused) {
    const std::string& program = program_and_flags.first;  // named, not bound: INFO captures it (clang 14)
    const std::string& flags = program_and_flags.second;
    INFO(flags);
    const Result r = run(program, flags + kData + " --out " + fresh_dir("refused"));
    CHECK(r.code == 2);
    CHECK((contains(r.output, "unknown option '--gp'") || contains(r.output, "has no such variant")));
  }
}

TEST_CASE("e2e --minutes ends a run when its time is up; --he-init, --lr-decay, --g-loss and --pixel-loss are recorded") {
  const std::string timed = fresh_dir("minutes");
  const Result r = run(MNIST_DENSE, "--model minimal --he-init" + kData + " --minutes 0.005 --out " + timed);
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(contains(r.output, "as many iterations as fit in 0.005 minutes"));
  CHECK(contains(r.output, "time is up after iteration"));
  const std::string losses = read_bytes(timed + "/losses.csv");
  const long rows = std::count(losses.begin(), losses.end(), '\n') - 1;
  CHECK(rows >= 1);
  CHECK(rows < 100000);
  // The last iteration is scored, even off an epoch's end.
  const std::string metrics = read_bytes(timed + "/metrics.csv");
  CHECK(contains(metrics, "," + std::to_string(rows) + ","));
  const auto timed_config = tinygan::json::parse(read_bytes(timed + "/config.json"), "config.json").object();
  CHECK(timed_config.at("he_init").boolean());
  CHECK(contains(timed_config.at("init").string(), "He normal"));
  // A run with only a time budget decays over that time (gan::run_fraction).
  const Result open_ended = run(MNIST_DENSE, "--model minimal --lr-decay" + kData + " --minutes 0.005 --out " + timed);
  INFO(open_ended.output);
  CHECK(open_ended.code == 0);
  CHECK(contains(open_ended.output, "time is up after iteration"));

  const std::string inverted = fresh_dir("pixel_loss");
  const Result best = run(MNIST_INVERTED, "--recipe best --g-loss bce --lr-decay" + kData + " --iters 3 --out " + inverted);
  INFO(best.output);
  REQUIRE(best.code == 0);
  const auto config = tinygan::json::parse(read_bytes(inverted + "/config.json"), "config.json").object();
  CHECK(config.at("pixel_loss").number() == 10);  // mnist_inverted's --recipe best
  CHECK(config.at("generator_loss").string() == "bce");
  CHECK(config.at("lr_decay").boolean());
  CHECK(contains(best.output, "% classified as 8"));
}

TEST_CASE("e2e generate from saved weights and export samples") {
  const std::string out = fresh_dir("generate");
  REQUIRE(run(MNIST_DENSE, "--model minimal" + kData + " --iters 3 --out " + out).code == 0);
  const Result npy = run(MNIST_DENSE, "--model minimal --load " + out + "/generator.safetensors --generate 12 --out " +
                                          out + " --export-samples " + out + "/samples.npy");
  INFO(npy.output);
  REQUIRE(npy.code == 0);
  const tinygan::Tensor<float> samples = tinygan::io::load_npy(out + "/samples.npy");
  CHECK(samples.shape() == tinygan::Shape{12, 1, 28, 28});  // (N, C, H, W)
  for (float v : samples) CHECK((v >= 0.0f && v <= 1.0f));  // the minimal G's sigmoid range
  expect_png(out + "/generated.png");

  // More samples than a picture can show, in more than one generation batch.
  const Result many = run(MNIST_DENSE, "--model minimal --load " + out + "/generator.safetensors --generate 1200 --out " +
                                           out + " --export-samples " + out + "/many.npy");
  INFO(many.output);
  REQUIRE(many.code == 0);
  CHECK(tinygan::io::load_npy(out + "/many.npy").shape() == tinygan::Shape{1200, 1, 28, 28});

  REQUIRE(run(MNIST_DENSE, "--model minimal --load " + out + "/generator.safetensors --generate 5 --out " + out +
                               " --export-samples " + out + "/samples.idx").code == 0);
  const auto idx = tinygan::data::read_idx(out + "/samples.idx");
  CHECK(idx.dims == std::vector<tinygan::Index>{5, 28, 28});
  // A path ending in '/': a folder of PNGs, one per sample.
  REQUIRE(run(MNIST_DENSE, "--model minimal --load " + out + "/generator.safetensors --generate 3 --out " + out +
                               " --export-samples " + out + "/pngs/").code == 0);
  for (const char* png : {"/pngs/sample_000000.png", "/pngs/sample_000001.png", "/pngs/sample_000002.png"}) {
    int w = 0, h = 0, channels = 0;
    unsigned char* pixels = load_picture(out + png, &w, &h, &channels);
    REQUIRE(pixels != nullptr);
    CHECK((w == 28 && h == 28 && channels == 1));
    stbi_image_free(pixels);
  }
  CHECK(!fs::exists(out + "/pngs/sample_000003.png"));

  // Weights of another model are refused, naming the first tensor that does not fit.
  const Result wrong = run(MNIST_DCGAN, "--load " + out + "/generator.safetensors --generate 2 --out " + out);
  CHECK(wrong.code == 1);
  CHECK(contains(wrong.output, "generator.safetensors"));
}

// Each flag of a program's --help with the placeholder of its value ("" for a
// switch): "  --lr-g X, --lr-d X     ..." gives {--lr-g, X} and {--lr-d, X}.
std::vector<std::pair<std::string, std::string>> flags_of(const std::string& program) {
  const Result help = run(program, "--help");
  REQUIRE(help.code == 0);
  std::vector<std::pair<std::string, std::string>> flags;
  std::istringstream lines(help.output);
  const std::regex flag(R"((--[a-z][a-z0-9-]*)(?: ([A-Z][A-Za-z.]*))?)");
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  --", 0) != 0) continue;
    const std::string column = line.substr(2, line.find("  ", 2) - 2);  // the flags, before their description
    for (std::sregex_iterator m(column.begin(), column.end(), flag), end; m != end; ++m)
      flags.emplace_back((*m)[1], (*m)[2]);
  }
  return flags;
}

// The wrong values every flag is tried with, by the kind of value it takes.
std::vector<std::string> bad_values(const std::string& flag, const std::string& placeholder) {
  if (placeholder.empty()) return {"3"};  // a switch given a value
  if (flag == "--out" || flag == "--export-samples" || placeholder == "DIR") return {""};  // any path will do
  if (placeholder.rfind("FILE", 0) == 0) return {"", "/nonexistent/file"};
  if (placeholder == "N") return {"", "abc", "-3", flag == "--seed" ? "99999999999999999999" : "1000000000000"};
  if (placeholder == "NAME" || placeholder == "WHAT") return {"", "frobnicate", "-3"};
  // --digits 99 is beyond MNIST's digits; a class index is only checked against its data set, so "1,,2"
  if (placeholder == "LIST") return {"", "a", "-1", flag == "--digits" ? "99" : "1,,2"};
  return {"", "abc", "-3", "1e30"};  // X, M, DECAY, W, GAMMA: real numbers
}

TEST_CASE("e2e every flag of every program, given a missing, malformed, negative or absurd value, gets one line and exit code 2") {
  const std::string samples = fresh_dir("flags") + ".idx";  // tinygan-score's SAMPLES (never read: parsing fails first)
  std::ofstream(samples) << "x";
  const std::pair<std::string, std::string> programs[] = {
      {MNIST_DCGAN, ""}, {MNIST_DENSE, ""}, {MNIST_INVERTED, ""}, {TINYGAN_SCORE, samples + " "},
      {IMAGE_CLASSIFIER, ""}, {IMAGE_DCGAN, ""}};
  int tried = 0;
  for (const auto& program_and_before : programs) {
    const std::string& program = program_and_before.first;  // named, not bound: INFO captures it (clang 14)
    const std::string& before = program_and_before.second;
    const auto flags = flags_of(program);
    CHECK(flags.size() >= 6);
    for (const auto& [flag, placeholder] : flags) {
      for (const std::string& value : bad_values(flag, placeholder)) {
        const std::string args = before + flag + (value.empty() ? "" : " " + value);
        INFO(program << " " << args);
        const Result r = run(program, args);
        INFO(r.output);
        CHECK(r.code == 2);
        CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
        CHECK(contains(r.output, placeholder.empty() ? "'3'" : flag));
        ++tried;
      }
    }
  }
  MESSAGE(tried << " bad command lines tried");
  CHECK(tried > 150);
}

TEST_CASE("e2e bad combinations and choices get one line and exit code 2") {
  const std::pair<std::string, std::string> cases[] = {
      {"--frobnicate", "unknown option"}, {"--generate 5", "--load"}, {"--fid-samples 1", "--fid-samples"},
      {"--pixel-loss 10", "unknown option"}, {"--lr 5", "--lr"}, {"--ema 1", "--ema"},
      {"--label-smoothing 0.7", "--label-smoothing"}, {"--threads 100000", "--threads"}, {"--minutes 0", "--minutes"},
      {"--sync-bn", "need --distributed"}, {"--dist-timeout 5", "need --distributed"},
      {"--distributed --summary", "--distributed is for training"}};
  for (const auto& args_and_expected : cases) {
    const std::string& args = args_and_expected.first;  // named, not bound: INFO captures it (clang 14)
    const std::string& expected = args_and_expected.second;
    INFO(args);
    const Result r = run(MNIST_DCGAN, args);
    CHECK(r.code == 2);
    CHECK(contains(r.output, expected));
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  }
  const Result model = run(MNIST_DENSE, "--model huge");
  CHECK(model.code == 2);
  CHECK(contains(model.output, "dense, dense-bn, minimal"));
}

TEST_CASE("e2e --distributed in a build without MPI says how to get one") {
  if (tinygan::dist::available()) return;  // an MPI build runs it (tests/dist)
  const Result r = run(MNIST_DENSE, "--model minimal --distributed --iters 1" + kData + " --out " + fresh_dir("nompi"));
  CHECK(r.code == 1);
  CHECK(contains(r.output, "distributed training needs tinygan built with MPI: configure with -DTINYGAN_WITH_MPI=ON"));
}

// A checkpoint of `from` with one weight of the discriminator's first Dense (minimal's layer 1) set to NaN.
void poison_checkpoint(const std::string& from, const std::string& to) {
  auto c = tinygan::io::Checkpoint<float>::load(from);
  tinygan::Tensor<float> w = c.tensor("discriminator.1.weight");
  w[0] = std::numeric_limits<float>::quiet_NaN();
  c.put_tensor("discriminator.1.weight", w);
  c.save(to);
}

TEST_CASE("e2e a checkpoint whose bookkeeping does not add up is refused on resume, naming the file") {
  const std::string out = fresh_dir("bad_bookkeeping");
  const std::string minimal = "--model minimal" + kData + " --out " + out;
  REQUIRE(run(MNIST_DENSE, minimal + " --iters 10").code == 0);
  const std::string edited = out + "_edited.safetensors";
  const auto refused = [&](const std::string& name, auto edit, const std::string& expected) {
    auto c = tinygan::io::Checkpoint<float>::load(out + "/checkpoint.safetensors");
    tinygan::Tensor<float> t = c.tensor(name);
    edit(t);
    c.put_tensor(name, t);
    c.save(edited);
    const Result r = run(MNIST_DENSE, minimal + " --iters 20 --resume " + edited);
    INFO(r.output);
    CHECK(r.code == 1);
    CHECK(contains(r.output, edited + ": " + expected));
  };
  refused("batches.order", [](auto& t) { t[0] = std::numeric_limits<float>::quiet_NaN(); }, "batches.order holds nan");
  refused("batches.order", [](auto& t) { t[3] = 1e30f; }, "batches.order holds 1e+30");
  refused("history.2", [](auto& t) { t = tinygan::Tensor<float>(tinygan::Shape{3}); }, "history column 2 has 3 rows");
  refused("quality.iteration", [](auto& t) { t = tinygan::Tensor<float>(tinygan::Shape{7}); }, "quality.iteration has 7 rows");
}

TEST_CASE("e2e a NaN stops training naming the step and layer, and nothing is saved over the last checkpoint") {
  const std::string out = fresh_dir("nan_stop");
  const std::string minimal = "--model minimal" + kData + " --out " + out;
  REQUIRE(run(MNIST_DENSE, minimal + " --iters 10").code == 0);
  const std::string poisoned = out + "_poisoned.safetensors";
  poison_checkpoint(out + "/checkpoint.safetensors", poisoned);
  const std::string checkpoint = read_bytes(out + "/checkpoint.safetensors");
  const std::string generator = read_bytes(out + "/generator.safetensors");
  const std::string losses = read_bytes(out + "/losses.csv");

  const Result r = run(MNIST_DENSE, minimal + " --iters 20 --resume " + poisoned);
  INFO(r.output);
  CHECK(r.code == 1);
  CHECK(contains(r.output, "training stopped at iteration 11, D step: the loss is nan"));
  CHECK(contains(r.output, "the first non-finite gradient is discriminator.1.weight (Dense)"));
  CHECK(contains(r.output, "--on-nan skip"));
  CHECK(read_bytes(out + "/checkpoint.safetensors") == checkpoint);
  CHECK(read_bytes(out + "/generator.safetensors") == generator);
  CHECK(read_bytes(out + "/losses.csv") == losses);

  // --on-nan skip: every step of this poisoned model is skipped and counted;
  // a run that skips 100 iterations in a row has diverged and stops.
  const Result skipped = run(MNIST_DENSE, minimal + " --iters 20 --on-nan skip --resume " + poisoned);
  INFO(skipped.output);
  CHECK(skipped.code == 0);
  CHECK(contains(skipped.output, "skipped: iteration 11, D step: the loss is nan"));
  CHECK(contains(skipped.output, "Skipped 20 non-finite steps"));
  const Result diverged = run(MNIST_DENSE, minimal + " --iters 200 --on-nan skip --resume " + poisoned);
  INFO(diverged.output);
  CHECK(diverged.code == 1);
  CHECK(contains(diverged.output, "training stopped at iteration 110: the last 100 iterations all had non-finite steps"));
}

TEST_CASE("e2e missing data without fetching says how to provide it") {
  const Result r = run(MNIST_DCGAN, "--data /nonexistent/mnist --no-fetch --iters 1 --out " + fresh_dir("nodata"));
  CHECK(r.code == 1);
  CHECK(contains(r.output, "npm"));
  CHECK(contains(r.output, "train-images-idx3-ubyte"));
}

TEST_CASE("e2e Ctrl-C saves a checkpoint that resumes") {
  const std::string out = fresh_dir("interrupt");
  const std::string log = out + ".log";
  fs::create_directories(out);
  // Start a long run in the background, interrupt it once training is under way.
  const pid_t pid = start_in_background(std::string(MNIST_DCGAN) + kData + " --iters 100000 --out " + out + " > " + log +
                                       " 2>&1");
  for (int i = 0; i < 200 && !fs::exists(out + "/config.json"); ++i) usleep(50000);
  usleep(500000);
  REQUIRE(kill(pid, SIGINT) == 0);
  wait_until_gone(pid);
  const std::string output = read_bytes(log);
  INFO(output);
  CHECK(contains(output, "Interrupted at iteration"));
  REQUIRE(fs::exists(out + "/checkpoint.safetensors"));
  const Result resumed = run(MNIST_DCGAN, kData + " --iters 2 --out " + out + " --resume " + out +
                                              "/checkpoint.safetensors");
  INFO(resumed.output);
  CHECK(resumed.code == 0);
}

// Temporary files that killed writes left beside `target`; removes them.
int remove_leftover_temporaries(const std::string& dir, const std::string& target) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().rfind(target + ".tmp.", 0) == 0) n += fs::remove(entry.path()) ? 1 : 0;
  return n;
}

bool has_temporary(const std::string& dir, const std::string& target) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename().string().rfind(target + ".tmp.", 0) == 0) return true;
  return false;
}

TEST_CASE("e2e SIGKILL at random moments, many times, never leaves a checkpoint that does not load") {
  const std::string out = fresh_dir("sigkill");
  // minimal checkpoints every iteration (5 MB, flushed to disk).
  const std::string args = " --model minimal --data " + std::string(TINYGAN_FIXTURE_DIR) +
                           "/mnist --no-fetch --threads 1 --fid-samples 0 --checkpoint-every 1 --out " + out;
  REQUIRE(run(MNIST_DENSE, args + " --iters 2").code == 0);
  std::mt19937 random(7);
  std::uniform_int_distribution<int> delay_ms(30, 400), delay_us(0, 3000);
  constexpr int kRounds = 40;
  int mid_write = 0;
  std::int64_t last = 0;
  for (int round = 0; round < kRounds; ++round) {
    INFO("round " << round);
    const pid_t pid = start_in_background(std::string(MNIST_DENSE) + args + " --iters 100000 > /dev/null 2>&1");
    if (round % 2 == 0) {
      usleep(static_cast<useconds_t>(delay_ms(random)) * 1000);  // anywhere in the run
    } else {
      // Within a write: once its temporary file exists, a few microseconds to milliseconds in.
      for (int i = 0; i < 100000 && !has_temporary(out, "checkpoint.safetensors"); ++i) usleep(50);
      usleep(static_cast<useconds_t>(delay_us(random)));
    }
    REQUIRE(kill(pid, SIGKILL) == 0);
    wait_until_gone(pid);
    mid_write += remove_leftover_temporaries(out, "checkpoint.safetensors");
    // Loading checks every tensor's size against the file: a torn file would throw.
    const auto c = tinygan::io::Checkpoint<float>::load(out + "/checkpoint.safetensors");
    CHECK(c.meta("model") == "minimal");
    last = c.get_int("iteration");
    CHECK(last >= 1);
  }
  MESSAGE(kRounds << " kills, " << mid_write << " of them during a checkpoint write");
  CHECK(mid_write >= kRounds / 4);
  const Result resumed = run(MNIST_DENSE, args + " --iters " + std::to_string(last + 2) + " --resume " + out +
                                              "/checkpoint.safetensors");
  INFO(resumed.output);
  CHECK(resumed.code == 0);
}

TEST_CASE("e2e a failing write (a file size limit) names the file and leaves the previous files intact") {
  const std::string out = fresh_dir("fsize");
  const std::string args = " --model minimal" + kData + " --fid-samples 0 --out " + out;
  REQUIRE(run(MNIST_DENSE, args + " --iters 4").code == 0);
  const std::string checkpoint = read_bytes(out + "/checkpoint.safetensors");
  const std::string generator = read_bytes(out + "/generator.safetensors");
  REQUIRE(checkpoint.size() > 3000000);
  // ulimit -f counts KiB: the 5 MB checkpoint cannot be written, the small files can.
  const Result r = run("bash", "-c 'ulimit -f 2000; exec " + std::string(MNIST_DENSE) + args + " --iters 8'");
  INFO(r.output);
  CHECK(r.code == 1);
  CHECK(contains(r.output, out + "/checkpoint.safetensors: write failed (File too large)"));
  CHECK(contains(r.output, "the previous file, if any, is unchanged"));
  CHECK(read_bytes(out + "/checkpoint.safetensors") == checkpoint);
  CHECK(read_bytes(out + "/generator.safetensors") == generator);
  CHECK(remove_leftover_temporaries(out, "checkpoint.safetensors") == 0);
}

TEST_CASE("e2e the same seed and thread count give bitwise-identical weights and samples") {
  const std::pair<std::string, std::string> cases[] = {{MNIST_DCGAN, ""},
                                                       {MNIST_DENSE, "--model dense"},
                                                       {MNIST_DENSE, "--model dense-bn"},
                                                       {MNIST_DENSE, "--model minimal"},
                                                       {MNIST_INVERTED, ""}};
  int compared = 0;
  for (const auto& program_and_model : cases) {
    const std::string& program = program_and_model.first;  // named, not bound: INFO captures it (clang 14)
    const std::string& model = program_and_model.second;
    INFO(program << " " << model);
    std::string dirs[2];
    for (int k = 0; k < 2; ++k) {
      dirs[k] = fresh_dir("repro_" + std::to_string(k));
      REQUIRE(run(program, model + kData + " --iters 5 --seed 9 --out " + dirs[k]).code == 0);
    }
    for (const auto& entry : fs::directory_iterator(dirs[0])) {
      const std::string name = entry.path().filename().string();
      // losses.csv, metrics.csv and the checkpoint (which holds both) also record seconds.
      if (name.find(".safetensors") == std::string::npos && name.rfind("samples_", 0) != 0 &&
          name != "test_inverted.png")
        continue;
      if (name == "checkpoint.safetensors") continue;
      INFO(name);
      CHECK(read_bytes(entry.path().string()) == read_bytes(dirs[1] + "/" + name));
      ++compared;
    }
  }
  CHECK(compared >= 20);
}

// tinygan-score on the fixture: its own test images score near zero against
// themselves; --invert undoes a dark-on-white copy; --digits narrows the reference.
TEST_CASE("e2e tinygan-score measures samples against the test set") {
  const std::string out = fresh_dir("score");
  fs::create_directories(out);
  const std::string fixture = std::string(TINYGAN_FIXTURE_DIR) + "/mnist";
  tinygan::data::MnistOptions options;  // [0, 1], as a sigmoid generator writes
  const auto test = tinygan::data::load_mnist(fixture, tinygan::data::Split::test, options);
  tinygan::io::save_npy(out + "/test.npy", test.images);
  tinygan::Tensor<float> inverted = test.images;
  for (float& v : inverted) v = 1.0f - v;
  tinygan::io::save_npy(out + "/inverted.npy", inverted);
  options.digits = {8};
  tinygan::io::save_npy(out + "/eights.npy", tinygan::data::load_mnist(fixture, tinygan::data::Split::test, options).images);

  const std::string data = " --data " + fixture + " --no-fetch --threads 2 --json";
  const auto fid = [](const std::string& json) {
    const std::size_t at = json.find("\"fid\": ");
    REQUIRE(at != std::string::npos);
    return std::stod(json.substr(at + 7));
  };
  const Result same = run(TINYGAN_SCORE, out + "/test.npy" + data);
  INFO(same.output);
  REQUIRE(same.code == 0);
  CHECK(fid(same.output) < 1.0);
  CHECK(contains(same.output, "\"classes_covered\": 10"));

  const Result flipped = run(TINYGAN_SCORE, out + "/inverted.npy" + data);
  const Result unflipped = run(TINYGAN_SCORE, out + "/inverted.npy --invert" + data);
  REQUIRE(flipped.code == 0);
  REQUIRE(unflipped.code == 0);
  CHECK(fid(flipped.output) > 100 * fid(unflipped.output));
  CHECK(fid(unflipped.output) == doctest::Approx(fid(same.output)).epsilon(1e-4));

  const Result eights = run(TINYGAN_SCORE, out + "/eights.npy --digits 8" + data);
  const Result against_all = run(TINYGAN_SCORE, out + "/eights.npy" + data);
  INFO(eights.output);
  REQUIRE(eights.code == 0);
  CHECK(contains(eights.output, "\"reference_classes\": [8]"));
  CHECK(fid(eights.output) < 1.0);
  CHECK(fid(against_all.output) > 10 * fid(eights.output));
  const Result classes = run(TINYGAN_SCORE, out + "/eights.npy --classes 8" + data);  // --digits' general name
  REQUIRE(classes.code == 0);
  CHECK(fid(classes.output) == fid(eights.output));

  // Pixel figures: the frame of light-on-dark digits is dark, of inverted ones light; the
  // test 8s are exactly as far from the training 8s as the test 8s are.
  const auto number = [](const std::string& json, const std::string& key) {
    const std::size_t at = json.find("\"" + key + "\": ");
    REQUIRE(at != std::string::npos);
    return std::stod(json.substr(at + key.size() + 4));
  };
  CHECK(number(same.output, "frame_mean") < 0.05);
  CHECK(number(unflipped.output, "frame_mean") > 0.95);
  CHECK_FALSE(contains(same.output, "nearest_train_distance"));
  const Result near = run(TINYGAN_SCORE, out + "/eights.npy --digits 8 --nearest" + data);
  INFO(near.output);
  REQUIRE(near.code == 0);
  CHECK(number(near.output, "nearest_train_distance") > 1);
  CHECK(number(near.output, "nearest_train_distance") ==
        doctest::Approx(number(near.output, "test_nearest_train_distance")).epsilon(1e-6));

  for (const char* bad : {" --digits 8,8", " --digits 10", " --digits", " --classes x", " --classes 1,,2", " --frobnicate"}) {
    const Result r = run(TINYGAN_SCORE, out + "/test.npy" + std::string(bad));
    INFO(bad);
    CHECK(r.code == 2);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  }

  // --asked: the test images "asked for" their own digit are nearly all classified as asked, and
  // each digit's FID is small; asked for the next digit, none is, and each FID is far larger.
  tinygan::Tensor<float> own(tinygan::Shape{test.size()}), next(tinygan::Shape{test.size()});
  for (tinygan::Index i = 0; i < test.size(); ++i) {
    own[i] = static_cast<float>(test.labels[static_cast<std::size_t>(i)]);
    next[i] = static_cast<float>((test.labels[static_cast<std::size_t>(i)] + 1) % 10);
  }
  tinygan::io::save_npy(out + "/own.npy", own);
  tinygan::io::save_npy(out + "/next.npy", next);
  const Result right = run(TINYGAN_SCORE, out + "/test.npy --asked " + out + "/own.npy" + data);
  const Result wrong = run(TINYGAN_SCORE, out + "/test.npy --asked " + out + "/next.npy" + data);
  INFO(right.output);
  INFO(wrong.output);
  REQUIRE(right.code == 0);
  REQUIRE(wrong.code == 0);
  CHECK(number(right.output, "class_accuracy") > 0.9);
  CHECK(number(wrong.output, "class_accuracy") < 0.1);
  const auto first_class_fid = [](const std::string& json) {
    const std::size_t at = json.find("\"class_fid\": [");
    REQUIRE(at != std::string::npos);
    return std::stod(json.substr(at + 14));
  };
  CHECK(first_class_fid(wrong.output) > 10 * first_class_fid(right.output));
  const Result text = run(TINYGAN_SCORE, out + "/test.npy --asked " + out + "/own.npy --data " + fixture + " --no-fetch");
  CHECK(contains(text.output, "class accuracy"));
  CHECK(contains(text.output, "FID per class    0: "));
  const Result short_list = run(TINYGAN_SCORE, out + "/test.npy --asked " + out + "/eights.npy" + data);
  CHECK(short_list.code == 1);
  CHECK(contains(short_list.output, "expected the class asked of each of the 100 samples"));
}

TEST_CASE("e2e the tutorial's own-model program trains in the loop, resumes bit for bit, and is the tutorial's text") {
  const std::string data = std::string(TINYGAN_FIXTURE_DIR) + "/mnist";
  const std::string split = fresh_dir("my_gan_split"), whole = fresh_dir("my_gan_whole");
  const Result first = run(MY_GAN, data + " " + split + " 6");
  INFO(first.output);
  REQUIRE(first.code == 0);
  CHECK(contains(first.output, "Training my_gan for 6 iterations (4 per epoch)"));
  for (const char* png : {"/samples_final.png", "/loss_plot.png"}) expect_png(split + png);
  expect_losses(split + "/losses.csv", 6);
  // Run again with a longer length: it finds its checkpoint and goes on from iteration 6.
  const Result resumed = run(MY_GAN, data + " " + split + " 10");
  INFO(resumed.output);
  REQUIRE(resumed.code == 0);
  CHECK(contains(resumed.output, "Resuming my_gan from " + split + "/checkpoint.safetensors at iteration 6"));
  REQUIRE(run(MY_GAN, data + " " + whole + " 10").code == 0);
  CHECK(read_bytes(split + "/generator.safetensors") == read_bytes(whole + "/generator.safetensors"));
  CHECK(read_bytes(split + "/discriminator.safetensors") == read_bytes(whole + "/discriminator.safetensors"));
  expect_losses(split + "/losses.csv", 10);

  // docs/tutorial.md shows the program whole, and it stays under 40 lines.
  const std::string program = read_bytes(MY_GAN_SOURCE), tutorial = read_bytes(TUTORIAL_MD);
  CHECK(contains(tutorial, "```cpp\n" + program + "```\n"));
  CHECK(std::count(program.begin(), program.end(), '\n') < 40);
}

namespace {
// A folder of pictures as a user brings them: two classes of 36 RGBA PNGs,
// 40x36 (not square, so they are cropped), each a random colour with a
// transparent corner, and a stray text file.
std::string write_picture_folder(const std::string& name) {
  const std::string root = fresh_dir(name);
  std::mt19937 random(7);
  for (const char* cls : {"reds", "blues"}) {
    fs::create_directories(root + "/" + cls);
    for (int i = 0; i < 36; ++i) {
      const int w = 40, h = 36;
      std::vector<std::uint8_t> rgba(static_cast<std::size_t>(w * h * 4));
      const auto shade = static_cast<std::uint8_t>(random() % 200);
      for (int p = 0; p < w * h; ++p) {
        const bool corner = p % w < 8 && p / w < 8;
        const std::uint8_t px[4] = {cls[0] == 'r' ? std::uint8_t(255) : shade, shade,
                                    cls[0] == 'b' ? std::uint8_t(255) : shade, corner ? std::uint8_t(0) : std::uint8_t(255)};
        std::copy(px, px + 4, rgba.begin() + p * 4);
      }
      tinygan::io::save_png(root + "/" + cls + "/" + std::to_string(i) + ".png", rgba, w, h, 4);
    }
  }
  std::ofstream(root + "/notes.txt") << "not a picture";
  return root;
}
}  // namespace

TEST_CASE("e2e image_dcgan trains on a folder of pictures and resumes bit for bit") {
  const std::string pictures = write_picture_folder("pictures");
  const std::string args = " --data " + pictures + " --size 32 --batch 16 --threads 2 --fid-samples 0 --recipe best";
  const std::string split = fresh_dir("image_split"), whole = fresh_dir("image_whole");
  const Result first = run(IMAGE_DCGAN, args + " --iters 3 --out " + split);
  INFO(first.output);
  REQUIRE(first.code == 0);
  CHECK(contains(first.output, "main.0 (Conv2DTranspose)"));  // the summary shows the network's layers
  CHECK(contains(first.output, "Training dcgan32 for 3 iterations (4 per epoch)"));  // 65 of 72: a tenth held out
  expect_resumed_equal(IMAGE_DCGAN, args, 6, split, whole);
  expect_losses(split + "/losses.csv", 6);
  // The grid is in colour, and config.json names the data set.
  int w = 0, h = 0, channels = 0;
  unsigned char* grid = load_picture(split + "/samples_final.png", &w, &h, &channels);
  REQUIRE(grid != nullptr);
  CHECK(channels == 3);
  stbi_image_free(grid);
  CHECK(contains(read_bytes(split + "/config.json"), "\"dataset\": \"folder\""));
  // --recipe best at 32 pixels keeps D's BatchNorm: no critic variant there yet.
  CHECK(contains(read_bytes(split + "/config.json"), "\"spectral_norm\": false"));

  // --generate from the saved weights writes a folder of colour PNGs.
  const std::string exported = whole + "/exported/";
  const Result generated = run(IMAGE_DCGAN, " --data " + pictures + " --size 32 --load " + whole +
                                                "/generator.safetensors --generate 5 --out " + whole +
                                                " --export-samples " + exported);
  INFO(generated.output);
  REQUIRE(generated.code == 0);
  CHECK(std::distance(fs::directory_iterator(exported), fs::directory_iterator()) == 5);
}

TEST_CASE("e2e image_dcgan --conditional learns a folder's classes, its sub-folders") {
  const std::string pictures = write_picture_folder("class_pictures"), dir = fresh_dir("folder_conditional");
  const std::string args = " --data " + pictures + " --conditional --batch 16 --fid-samples 0";
  const Result default_size = run(IMAGE_DCGAN, args + " --iters 1 --out " + dir);
  CHECK(default_size.code == 2);
  CHECK(contains(default_size.output, "give --size 28 (found 32, the data set's default)"));
  const Result trained = run(IMAGE_DCGAN, args + " --size 28 --iters 2 --out " + dir);
  INFO(trained.output);
  REQUIRE(trained.code == 0);
  CHECK(contains(trained.output, "Training cdcgan28 for 2 iterations"));
  CHECK(contains(trained.output, "Classes (--class K; a row each in the sample grids): 0 blues, 1 reds"));
  CHECK(contains(read_bytes(dir + "/config.json"), "\"class_names\": [\"blues\", \"reds\"]"));
  const std::string load = args + " --size 28 --load " + dir + "/generator.safetensors --out " + dir;
  const Result blues = run(IMAGE_DCGAN, load + " --class 0 --generate 3");
  INFO(blues.output);
  CHECK(blues.code == 0);
  CHECK(contains(blues.output, "Wrote 3 samples of class 0"));
  const Result beyond = run(IMAGE_DCGAN, load + " --class 2");
  CHECK(beyond.code == 1);
  CHECK(contains(beyond.output, "the model was trained on 2 classes (0 to 1)"));
}

TEST_CASE("e2e image_dcgan says what is wrong with a data set") {
  const std::string empty = fresh_dir("no_pictures");
  const Result none = run(IMAGE_DCGAN, " --data " + empty + " --iters 1 --fid-samples 0");
  CHECK(none.code == 1);
  CHECK(contains(none.output, empty));
  const Result no_cifar = run(IMAGE_DCGAN, " --dataset cifar10 --data " + empty + " --iters 1 --fid-samples 0");
  CHECK(no_cifar.code == 1);
  CHECK(contains(no_cifar.output, "data_batch_1.bin"));
  const Result no_choice = run(IMAGE_DCGAN, " --iters 1");
  CHECK(no_choice.code == 2);
  CHECK(contains(no_choice.output, "--dataset"));
  const Result bad_size = run(IMAGE_DCGAN, " --dataset emoji --size 48");
  CHECK(bad_size.code == 2);
  CHECK(contains(bad_size.output, "28, 32, 64"));
}

TEST_CASE("e2e image_dcgan --conditional: both discriminators learn MNIST's labels, score the class asked for, "
          "resume bit for bit, and generate the class asked for") {
  const std::string args = " --dataset mnist" + kData + " --batch 16 --recipe best";
  std::string dir;  // the projection model trained below, 6 iterations: generation from it follows
  for (const std::string kind : {"projection", "channels"}) {
    INFO(kind);
    const std::string common = args + (kind == "projection" ? " --conditional" : " --conditional " + kind);  // projection: the default
    const std::string split = fresh_dir("conditional_split_" + kind), whole = fresh_dir("conditional_whole_" + kind);
    if (kind == "projection") dir = whole;
    const Result first = run(IMAGE_DCGAN, common + " --iters 3 --out " + split);
    INFO(first.output);
    REQUIRE(first.code == 0);
    CHECK(contains(first.output, "Training cdcgan28 for 3 iterations"));
    CHECK(contains(first.output, "label (InputLayer)"));  // the summaries show both inputs
    CHECK(contains(first.output, kind == "projection" ? "projection (Dot)" : "concat (Concatenate channels)"));
    CHECK(contains(first.output, "% the class asked for"));
    expect_resumed_equal(IMAGE_DCGAN, common, 6, split, whole);
    expect_csv(whole + "/metrics.csv",
               "epoch,iteration,seconds,fid,inception_score,confident_share,classes_covered,smallest_class_share,"
               "samples,class_accuracy",
               1);
    const std::string config = read_bytes(whole + "/config.json");
    CHECK(contains(config, "\"conditional\": \"" + kind + "\""));
    CHECK(contains(config, "\"classes\": 10"));
    // The grid: one row per digit, 8 columns.
    int w = 0, h = 0, channels = 0;
    unsigned char* grid = load_picture(whole + "/samples_final.png", &w, &h, &channels);
    REQUIRE(grid != nullptr);
    CHECK(h > w);
    stbi_image_free(grid);
  }
  const std::string load = args + " --conditional projection --load " + dir + "/generator.safetensors --out " + dir;
  const Result three = run(IMAGE_DCGAN, load + " --class 3 --generate 12 --export-samples " + dir + "/threes.npy");
  INFO(three.output);
  REQUIRE(three.code == 0);
  CHECK(contains(three.output, "Wrote 12 samples of class 3"));
  const Result walk = run(IMAGE_DCGAN, load + " --interpolate");
  INFO(walk.output);
  REQUIRE(walk.code == 0);
  expect_png(dir + "/interpolation.png");
  const Result beyond = run(IMAGE_DCGAN, load + " --class 10");
  CHECK(beyond.code == 1);
  CHECK(contains(beyond.output, "--class 10: the model was trained on 10 classes (0 to 9)"));
  const Result unconditional = run(IMAGE_DCGAN, args + " --load " + dir + "/generator.safetensors --class 3");
  CHECK(unconditional.code == 2);
  CHECK(contains(unconditional.output, "need --conditional"));
  const Result wrong_model = run(IMAGE_DCGAN, args + " --load " + dir + "/generator.safetensors --out " + dir);
  CHECK(wrong_model.code == 1);  // conditional weights into the unconditional G: refused by name
}

TEST_CASE("e2e image_dcgan --conditional --ac-gan: D classifies beside its score, the setting is kept and checked") {
  const std::string args = " --dataset mnist" + kData + " --batch 16 --conditional";
  const std::string dir = fresh_dir("ac_gan");
  const Result trained = run(IMAGE_DCGAN, args + " --ac-gan 1 --iters 2 --fid-samples 0 --out " + dir);
  INFO(trained.output);
  REQUIRE(trained.code == 0);
  CHECK(contains(trained.output, "classifier (Dense)"));
  CHECK(contains(read_bytes(dir + "/config.json"), "\"ac_gan\": 1"));
  const Result forgot = run(IMAGE_DCGAN, args + " --iters 3 --out " + dir + " --resume " + dir + "/checkpoint.safetensors");
  CHECK(forgot.code == 1);
  CHECK(contains(forgot.output, "trained with ac_gan 1, but this run has 0"));
  const Result channels = run(IMAGE_DCGAN, args + " channels --ac-gan 1 --iters 1 --out " + dir);
  CHECK(channels.code == 1);
  CHECK(contains(channels.output, "built on the projection D, not on label channels"));
}
