/// \file
/// A folder of the user's own pictures as a training set. Pictures (.png .jpg
/// .jpeg .bmp, any case) are found anywhere below the root, in the order of
/// their paths; names starting with '.' are skipped. The root's first-level
/// sub-folders that hold pictures are the classes, sorted by name: every
/// picture below one belongs to it. Pictures directly in the root have no
/// class (ImageSet::kUnlabelled); with no class folder at all the set has no
/// labels. Each picture is decoded as data/image_decode.hpp says, on all
/// threads; the set does not depend on their number.
#pragma once

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "tinygan/core/error.hpp"
#include "tinygan/core/read_file.hpp"
#include "tinygan/core/tensor.hpp"
#include "tinygan/core/threads.hpp"
#include "tinygan/data/image_decode.hpp"
#include "tinygan/data/image_set.hpp"

namespace tinygan::data {

/// How load_image_folder reads a folder.
struct FolderOptions {
  int channels = 3;  ///< 1 (grey) or 3 (RGB)
  /// What transparent pixels show: alpha is composited onto this RGB colour.
  std::array<std::uint8_t, 3> background{255, 255, 255};
  /// Side of the square images (short side resized to it, long side
  /// centre-cropped); 0 keeps the pictures' size, which must then be the same.
  int size = 64;
  Scaling scaling = Scaling::minus_one_to_one;
  /// Pictures that cannot be read or decoded are left out (and listed in the
  /// report) rather than refused.
  bool skip_unreadable = false;
  /// Called with (pictures decoded, pictures in all) at most about 100 times,
  /// always from the calling thread, last with done == total.
  std::function<void(Index done, Index total)> progress;
  std::int64_t max_pixels = kMaxPicturePixels;  ///< larger pictures are unreadable
};

/// What load_image_folder read, besides the images.
struct FolderReport {
  std::vector<std::string> files;    ///< the file of each image, in order
  std::vector<std::string> skipped;  ///< "file: reason" of each picture skipped (skip_unreadable)
};

/// The picture extensions read, lower case.
inline constexpr std::array<const char*, 4> kPictureExtensions{".png", ".jpg", ".jpeg", ".bmp"};

namespace detail {

namespace fs = std::filesystem;

inline std::string picture_extension_list() {
  std::string list;
  for (const char* e : kPictureExtensions) list += (list.empty() ? "" : " ") + std::string(e);
  return list;
}

inline bool is_picture_name(const fs::path& path) {
  std::string extension = path.extension().string();
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::find(kPictureExtensions.begin(), kPictureExtensions.end(), extension) !=
         kPictureExtensions.end();
}

inline bool is_hidden_name(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

// A file found below the root: its path, its path relative to the root (for
// messages) and the first-level folder it lies in ("" directly in the root).
struct FolderEntry {
  fs::path path;
  std::string relative;
  std::string top;
};

// What a folder holds: picture files and other files, below it at any depth.
struct FolderListing {
  std::vector<FolderEntry> pictures;
  std::vector<FolderEntry> others;
};

// Lists `folder` (`relative` to the root, in class `top`) depth first. Folder
// symlinks are followed, but never into a folder that is already open above
// (a loop); `open` holds their canonical paths. Entries that vanish or cannot
// be read while listing are passed over.
inline void list_folder(const fs::path& folder, const std::string& relative, const std::string& top,
                        std::vector<fs::path>& open, FolderListing& out) {
  std::error_code ec;
  const fs::path canonical = fs::canonical(folder, ec);
  if (ec || std::find(open.begin(), open.end(), canonical) != open.end()) return;
  open.push_back(canonical);
  for (fs::directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    if (is_hidden_name(path)) continue;
    const std::string name = path.filename().string();
    const std::string path_relative = relative.empty() ? name : relative + "/" + name;
    std::error_code kind;
    if (it->is_directory(kind))
      list_folder(path, path_relative, relative.empty() ? name : top, open, out);
    else if (it->is_regular_file(kind))
      (is_picture_name(path) ? out.pictures : out.others).push_back({path, path_relative, top});
  }
  open.pop_back();
}

// The pictures of root in path order, with their labels and the class names.
struct FolderPlan {
  std::vector<fs::path> pictures;
  std::vector<std::int32_t> labels;  // empty when no class folder holds a picture
  std::vector<std::string> classes;
};

inline std::string describe_others(const std::vector<FolderEntry>& others) {
  std::vector<std::string> names;
  for (const auto& entry : others) names.push_back(entry.relative);
  std::sort(names.begin(), names.end());
  std::string list;
  const std::size_t shown = std::min<std::size_t>(names.size(), 5);
  for (std::size_t i = 0; i < shown; ++i) list += (i ? ", " : "") + names[i];
  if (names.size() > shown) list += ", ...";
  return list;
}

inline FolderPlan plan_folder(const std::string& root) {
  std::error_code ec;
  check(fs::exists(root, ec), root, ": no such folder (expected a folder of pictures)");
  check(fs::is_directory(root, ec), root, ": not a folder (expected a folder of pictures)");
  FolderListing listing;
  std::vector<fs::path> open;
  list_folder(root, "", "", open, listing);
  check(!listing.pictures.empty() || !listing.others.empty(), root,
        ": the folder is empty (expected pictures in it, or in a sub-folder per class; names "
        "starting with '.' are skipped)");
  check(!listing.pictures.empty(), root, ": found ", listing.others.size(),
        listing.others.size() == 1 ? " file" : " files", ", none a picture (",
        picture_extension_list(), "): ", describe_others(listing.others));

  // Path order, compared folder by folder: the same on every file system.
  std::sort(listing.pictures.begin(), listing.pictures.end(),
            [](const FolderEntry& a, const FolderEntry& b) { return a.path < b.path; });
  FolderPlan plan;
  std::map<std::string, std::int32_t> label_of;
  for (const auto& entry : listing.pictures) {
    plan.pictures.push_back(entry.path);
    if (!entry.top.empty()) label_of.emplace(entry.top, 0);
  }
  if (label_of.empty()) return plan;      // no class folder: no labels at all
  for (auto& [name, label] : label_of) {  // std::map: sorted by name
    label = static_cast<std::int32_t>(plan.classes.size());
    plan.classes.push_back(name);
  }
  for (const auto& entry : listing.pictures)
    plan.labels.push_back(entry.top.empty() ? ImageSet::kUnlabelled : label_of[entry.top]);
  return plan;
}

// Calls progress from the thread that runs it with thread number 0 (the
// caller), at most `steps` times before the last call; remembers an exception
// it throws, since none may leave an OpenMP region.
class FolderProgress {
 public:
  FolderProgress(const std::function<void(Index, Index)>& progress, Index total)
      : progress_(progress), total_(total) {}

  bool failed() const { return failed_.load(std::memory_order_relaxed); }

  // One more picture done; call from any thread.
  void step(bool on_reporting_thread) {
    const Index done = done_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (!progress_ || !on_reporting_thread || done >= total_) return;
    if (done * kSteps / total_ > reported_step_) {
      reported_step_ = done * kSteps / total_;
      call(done);
    }
  }
  // After the loop, on the calling thread: the last call, or the exception.
  void finish() {
    if (progress_ && !failed()) call(total_);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static constexpr Index kSteps = 100;
  void call(Index done) {
    try {
      progress_(done, total_);
    } catch (...) {
      error_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
  const std::function<void(Index, Index)>& progress_;
  Index total_;
  std::atomic<Index> done_{0};
  std::atomic<bool> failed_{false};
  Index reported_step_ = 0;  // touched by the reporting thread only
  std::exception_ptr error_;
};

inline int folder_thread_number() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Decodes every picture of the plan into pictures[i], or its Error message
// into errors[i]: nothing thrown inside the parallel loop.
inline void decode_folder(const std::vector<fs::path>& files, const PictureOptions& picture_options,
                          const std::function<void(Index, Index)>& progress,
                          std::vector<Picture>& pictures, std::vector<std::string>& errors) {
  const auto n = static_cast<Index>(files.size());
  pictures.assign(files.size(), Picture{});
  errors.assign(files.size(), std::string());
  FolderProgress report(progress, n);
  const int threads =
      in_parallel_region() ? 1 : static_cast<int>(std::min<Index>(num_threads(), n));
  // Dynamic: pictures differ widely in cost, and thread 0 keeps taking work
  // to the end, so that its progress calls are spread over the whole run.
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (Index i = 0; i < n; ++i) {
    if (report.failed()) continue;  // the progress callback threw: stop soon
    const auto at = static_cast<std::size_t>(i);
    const std::string name = files[at].string();
    try {
      pictures[at] = decode_picture(read_whole_file(name), name, picture_options);
    } catch (const Error& e) {
      errors[at] = e.what();
    } catch (const std::exception& e) {  // std::bad_alloc and the like
      errors[at] = name + ": " + e.what();
    }
    report.step(folder_thread_number() == 0);
  }
  report.finish();
}

}  // namespace detail

/// Loads the pictures below root as images [N, C, size, size] (see this
/// header's first comment for which files, their order and their classes). Refuses,
/// naming what it found: a missing root, an empty folder, a folder without a
/// picture, a picture that cannot be decoded (unless skip_unreadable), and
/// with size 0 pictures of different sizes. Nothing is returned half-done.
/// When report is given it receives each image's file and the files skipped.
inline ImageSet load_image_folder(const std::string& root, const FolderOptions& options = {},
                                  FolderReport* report = nullptr) {
  const PictureOptions picture_options{options.channels, options.background, options.size,
                                       options.max_pixels};
  check(options.channels == 1 || options.channels == 3, root,
        ": expected 1 (grey) or 3 (RGB) channels, found ", options.channels);
  check(options.size >= 0 && options.size <= STBI_MAX_DIMENSIONS, root,
        ": expected a size from 0 (keep the pictures' size) to ", STBI_MAX_DIMENSIONS, ", found ",
        options.size);
  detail::FolderPlan plan = detail::plan_folder(root);
  std::vector<Picture> pictures;
  std::vector<std::string> errors;
  detail::decode_folder(plan.pictures, picture_options, options.progress, pictures, errors);

  // Keep what decoded, in order; the first failure (in path order) is the one named.
  const auto failed = static_cast<std::size_t>(
      std::count_if(errors.begin(), errors.end(), [](const std::string& e) { return !e.empty(); }));
  std::vector<std::size_t> kept;
  std::vector<std::string> skipped;
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (errors[i].empty()) {
      kept.push_back(i);
      continue;
    }
    check(options.skip_unreadable, errors[i],
          failed > 1 ? tinygan::detail::concat(" (and ", failed - 1, " more unreadable)")
                     : std::string(),
          "; FolderOptions::skip_unreadable leaves such files out");
    skipped.push_back(errors[i]);
  }
  check(!kept.empty(), root, ": none of the ", plan.pictures.size(),
        " pictures could be decoded; the first: ", skipped.empty() ? "" : skipped.front());

  const Picture& reference = pictures[kept.front()];
  for (std::size_t i : kept)
    check(pictures[i].width == reference.width && pictures[i].height == reference.height, root,
          ": with size 0 every picture must be the same size, but ",
          plan.pictures[kept.front()].string(), " is ", reference.width, "x", reference.height,
          " and ", plan.pictures[i].string(), " is ", pictures[i].width, "x", pictures[i].height,
          " (a size > 0 resizes them all)");

  ImageSet set;
  const Index per_image = Index{options.channels} * reference.height * reference.width;
  set.images = Tensor<float>::uninitialized(
      Shape{static_cast<Index>(kept.size()), options.channels, reference.height, reference.width});
  const auto count = static_cast<Index>(kept.size());
  float* images = set.images.data();
  const int threads =
      count * per_image > kParallelGrain && !in_parallel_region() ? num_threads() : 1;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (Index k = 0; k < count; ++k)
    picture_to_chw(pictures[kept[static_cast<std::size_t>(k)]], options.scaling,
                   images + k * per_image);

  if (!plan.labels.empty()) {
    set.classes = plan.classes;
    for (std::size_t i : kept) set.labels.push_back(plan.labels[i]);
  }
  if (report) {
    report->files.clear();
    for (std::size_t i : kept) report->files.push_back(plan.pictures[i].string());
    report->skipped = std::move(skipped);
  }
  return set;
}

/// For a run that needs a class per image: throws unless every image of set
/// (loaded from root by load_image_folder) has one, saying how many pictures
/// lie directly in root, naming one, and what to do.
inline void require_labels(const ImageSet& set, const std::string& root) {
  if (set.labelled()) return;
  // An example: the first picture directly in root, by name.
  std::string example;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code kind;
    if (it->is_regular_file(kind) && !detail::is_hidden_name(name) &&
        detail::is_picture_name(name) && (example.empty() || name < example))
      example = name;
  }
  const auto unlabelled = set.labels.empty()
                              ? set.size()
                              : static_cast<Index>(std::count(set.labels.begin(), set.labels.end(),
                                                              ImageSet::kUnlabelled));
  throw Error(tinygan::detail::concat(
      root, ": this run needs a class per image, but ", unlabelled, " of the ", set.size(),
      " pictures lie directly in the folder",
      example.empty() ? std::string() : " (e.g. " + example + ")",
      set.classes.empty()
          ? std::string(", and it has no class sub-folders")
          : tinygan::detail::concat(", outside its ", set.classes.size(), " class sub-folders"),
      "; move them into a sub-folder per class (", root,
      "/<class>/<picture>): each first-level sub-folder is one class"));
}

}  // namespace tinygan::data
