// For the HTTP benchmarks: a real `veribind serve` process in a directory of its own (key, API
// key, configuration, store), and a minimal HTTP/1.1 client over one keep-alive loopback
// connection (write the request, read exactly Content-Length of the reply). Nothing here is part
// of the product: it aborts on anything unexpected, as a benchmark's setup may.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace veribind::bench {

// The text of the JSON string member `name` in `json` ("id", "key", "code"), or empty. Enough for
// the server's own replies, whose strings here hold no escapes.
inline std::string json_string_field(std::string_view json, std::string_view name) {
  const std::string quoted = "\"" + std::string(name) + "\"";
  for (std::size_t at = json.find(quoted); at != std::string_view::npos;
       at = json.find(quoted, at + 1)) {
    std::size_t k = at + quoted.size();
    while (k < json.size() && json[k] == ' ') ++k;
    if (k == json.size() || json[k] != ':') continue;  // a value that reads like the name
    ++k;
    while (k < json.size() && json[k] == ' ') ++k;
    if (k == json.size() || json[k] != '"') return {};
    const std::size_t end = json.find('"', k + 1);
    if (end == std::string_view::npos) return {};
    return std::string(json.substr(k + 1, end - k - 1));
  }
  return {};
}

inline std::string read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `argv` to completion with stdout into `out_path`; aborts unless it exits 0.
inline void run_or_abort(const std::vector<std::string>& argv, const std::string& out_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) std::abort();
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "serve bench: %s %s failed\n", argv[0].c_str(), argv[1].c_str());
    std::abort();
  }
}

// A running `veribind serve --demo` on 127.0.0.1 (a port of its own), stopped (SIGTERM) when
// destroyed. Its stderr, the request log with one line per request, goes to a regular file
// (serve.log in its directory): no reader is woken per request, and the first line, the
// {"listening":"127.0.0.1:PORT",...} line, is read from it.
class ServeProcess {
 public:
  // `dir` exists and holds veribind.toml; `extra` are more arguments for serve.
  ServeProcess(const std::string& binary, const std::filesystem::path& dir,
               const std::vector<std::string>& extra = {}) {
    const std::string log = (dir / "serve.log").string();
    std::vector<std::string> argv = {
        binary,     "serve",       "--config", (dir / "veribind.toml").string(),
        "--listen", "127.0.0.1:0", "--demo"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) std::abort();
    posix_spawn_file_actions_destroy(&actions);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (port_ == 0) {
      const std::string text = read_whole_file(log);
      const std::string listening = json_string_field(text, "listening");
      if (!listening.empty()) {
        port_ = static_cast<std::uint16_t>(std::stoi(listening.substr(listening.rfind(':') + 1)));
        break;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_ || std::chrono::steady_clock::now() > deadline) {
        std::fprintf(stderr, "serve bench: the server did not start:\n%s\n", text.c_str());
        std::abort();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~ServeProcess() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  // The CPU time (user and system, all threads) the server has used so far, in seconds; at the
  // kernel's clock-tick resolution (10 ms), so read it over many requests.
  [[nodiscard]] double cpu_seconds() const {
    const std::string stat = read_whole_file("/proc/" + std::to_string(pid_) + "/stat");
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string skip;
    for (int k = 3; k < 14; ++k) fields >> skip;  // state .. cmajflt
    double user = 0;
    double system = 0;
    fields >> user >> system;
    return (user + system) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }

 private:
  pid_t pid_ = 0;
  std::uint16_t port_ = 0;
};

struct HttpReply {
  int status = 0;
  std::string body;
};

// One keep-alive connection to 127.0.0.1:port, with TCP_NODELAY (as any HTTP client sets it).
// Sequential: one request, then its whole reply.
class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 ||
        ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      std::abort();
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    received_.reserve(64 * 1024);
  }
  ~HttpClient() { ::close(fd_); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // A whole request: request line, Host, Authorization, and for a body its Content-Type and
  // Content-Length.
  static std::string request(std::string_view method, std::string_view target,
                             std::string_view bearer, std::string_view body) {
    std::string r;
    r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    r.append("Authorization: Bearer ").append(bearer).append("\r\n");
    if (!body.empty()) {
      r.append("Content-Type: application/json\r\nContent-Length: ")
          .append(std::to_string(body.size()))
          .append("\r\n");
    }
    r.append("\r\n").append(body);
    return r;
  }

  // Sends `request` and reads its reply into `reply`. False if the connection failed or the
  // reply is not HTTP/1.1 with a Content-Length.
  bool exchange(std::string_view request, HttpReply& reply) {
    for (std::size_t sent = 0; sent < request.size();) {
      const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    std::size_t header_end = std::string::npos;
    while ((header_end = received_.find("\r\n\r\n")) == std::string::npos) {
      if (!receive_some()) return false;
    }
    const std::string_view head(received_.data(), header_end);
    if (head.size() < 12 || head.substr(0, 9) != "HTTP/1.1 ") return false;
    reply.status = std::atoi(head.data() + 9);
    const std::size_t length = content_length(head);
    if (length == std::string::npos) return false;
    const std::size_t total = header_end + 4 + length;
    while (received_.size() < total) {
      if (!receive_some()) return false;
    }
    reply.body.assign(received_, header_end + 4, length);
    received_.erase(0, total);
    return true;
  }

 private:
  bool receive_some() {
    const ssize_t n = ::recv(fd_, chunk_.data(), chunk_.size(), 0);
    if (n <= 0) return false;
    received_.append(chunk_.data(), static_cast<std::size_t>(n));
    return true;
  }
  // The Content-Length header's value (names compared case-insensitively), or npos.
  static std::size_t content_length(std::string_view head) {
    constexpr std::string_view kName = "content-length:";
    for (std::size_t line = head.find("\r\n"); line != std::string_view::npos;
         line = head.find("\r\n", line + 2)) {
      const std::string_view rest = head.substr(line + 2);
      if (rest.size() <= kName.size()) continue;
      bool same = true;
      for (std::size_t k = 0; k < kName.size() && same; ++k) {
        const char c = rest[k];
        same = (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) == kName[k];
      }
      if (same) return std::strtoul(rest.data() + kName.size(), nullptr, 10);
    }
    return std::string::npos;
  }
  int fd_ = -1;
  std::string received_;
  std::array<char, 16 * 1024> chunk_{};
};

}  // namespace veribind::bench
