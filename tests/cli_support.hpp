// Runs the `veribind` program as a child process (VERIBIND_CLI_PATH) in a directory of the test's
// own: what the CLI tests share.
#pragma once

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace veribind::testing::cli {

namespace fs = std::filesystem;
using nlohmann::json;

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

using veribind::testing::TempDir;

// Runs the CLI with `args` in `cwd`, capturing stdout and stderr separately and the exit status.
inline Run run_cli(const fs::path& cwd, const std::vector<std::string>& args) {
  std::array<int, 2> out_pipe{};
  std::array<int, 2> err_pipe{};
  REQUIRE(pipe(out_pipe.data()) == 0);
  REQUIRE(pipe(err_pipe.data()) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    std::vector<char*> argv;
    std::string program = VERIBIND_CLI_PATH;
    argv.push_back(program.data());
    std::vector<std::string> copies = args;
    for (std::string& arg : copies) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);

  // Both pipes are drained together, so a chatty child never blocks on a full pipe.
  Run run;
  std::array<pollfd, 2> fds{{{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}}};
  std::array<std::string*, 2> sinks{&run.out, &run.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      FAIL("poll failed");
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  run.exit_code = WEXITSTATUS(status);
  return run;
}

// The one JSON object a --json command prints on stdout.
inline json json_of(const Run& run) {
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  REQUIRE(!run.out.empty());
  REQUIRE(run.out.back() == '\n');
  REQUIRE(run.out.find('\n') == run.out.size() - 1);  // exactly one line
  json object = json::parse(run.out);
  REQUIRE(object.is_object());
  return object;
}

inline std::string error_code_of(const Run& run) {
  const json object = json_of(run);
  REQUIRE(object.contains("error"));
  REQUIRE(object["error"]["code"].is_string());
  REQUIRE(object["error"]["message"].is_string());
  return object["error"]["code"].get<std::string>();
}

inline std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace veribind::testing::cli
