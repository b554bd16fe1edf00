// Running the example programs from a test: to completion with their output
// captured, or in the background to be interrupted or killed.
#pragma once

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

extern char** environ;

namespace tinygan::testing::processes {

struct Result {
  int code = -1;
  std::string output;  // stdout and stderr together
};

inline Result run(const std::string& program, const std::string& args) {
  const std::string command = program + " " + args + " 2>&1";
  Result r;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe)) r.output += buf.data();
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// An empty folder of this name in the temp folder.
inline std::string fresh_dir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("tinygan_e2e_" + name);
  std::filesystem::remove_all(dir);
  return dir.string();
}

/// Starts `command` (with its output redirected) as a child process: the
/// shell execs it, so the pid is the program's own and waitpid reaps it.
inline pid_t start_in_background(const std::string& command) {
  const std::string line = "exec " + command;
  const char* argv[] = {"sh", "-c", line.c_str(), nullptr};
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char* const*>(argv), environ) == 0);
  return pid;
}

/// Waits up to `seconds` for the child to end; its exit status, or -1 if it did not end.
inline int wait_until_gone(pid_t pid, int seconds = 20) {
  int status = 0;
  for (int i = 0; i < seconds * 40; ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    usleep(25000);
  }
  return -1;
}

}  // namespace tinygan::testing::processes
