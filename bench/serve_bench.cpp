// check() over the HTTP API beside the library's own check(), in the same run, on the same kind
// of store with the same limits and the same sequence of operations.
//
// BM_Check_Http/<store>: POST /v1/verifications/{id}/check with a wrong code to a real `veribind
// serve` process (the binary built beside this one, [server] threads = 2), over one keep-alive
// loopback connection, one request at a time: real time per iteration is the latency a client
// sees. BM_Check_Library/<store>: Verifier::check in-process.
//
// Workload, both sides: kLive = 10^4 challenges, each for its own email identifier, started
// before timing (over HTTP: POST /v1/verifications). Each iteration checks a wrong code on the
// next challenge, round robin: one charge_attempt (the attempt and the identifier's failure
// together), the code tag, a constant-time compare, answered kWrongCode (HTTP: 200
// {"status":"pending","valid":false}). Every challenge allows kMaxChecks = 100 checks and each
// identifier kMaxFailedChecks = 1000 failures; after kPassesPerWorld = 90 checks of every
// challenge the world (store, and server) is rebuilt with kLive new challenges (timer paused), so
// the locked and expired paths are never measured and the working set stays kLive. The client
// limits are set out of reach: the server may key them by the peer's address, and the library is
// then given the same client key, so that both do the same counter step.
//
// Working set: 10^4 challenge records (~0.9 MB in MemoryStore; SQLite: a fresh database file with
// 10^4 challenge rows and 10^4 failure counts).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench_support.hpp"
#include "fresh_sqlite.hpp"
#include "serve_process.hpp"
#include "veribind/sqlite_store.hpp"

namespace vb = veribind;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kLive = 10000;
constexpr int kMaxChecks = 100;
constexpr int kMaxFailedChecks = 1000;
constexpr int kPassesPerWorld = 90;
constexpr int kCodeTtlSeconds = 86400;
// Out of reach of any run: a benchmark client is one address making every request.
constexpr std::uint32_t kClientLimit = 1'000'000'000;
// What the server passes to check() as RequestContext::client_key for a loopback client.
constexpr std::string_view kLoopbackClientKey = "127.0.0.1";

enum class StoreKind { kMemory, kSqlite };

vb::VerifierConfig workload_config() {
  vb::VerifierConfig c;
  c.code_ttl = std::chrono::seconds(kCodeTtlSeconds);
  c.max_checks = kMaxChecks;
  c.max_failed_checks = kMaxFailedChecks;
  c.failure_window = std::chrono::hours(24);
  c.resend_cooldown = std::chrono::seconds(0);
  c.max_sends_per_hour = 1000;
  c.global_sends_per_hour = 0;
  c.client_starts_per_window = kClientLimit;
  c.client_checks_per_window = kClientLimit;
  return c;
}

// The same limits as workload_config(), as the server reads them.
std::string workload_toml(const fs::path& dir, StoreKind kind, int threads) {
  const vb::VerifierConfig c = workload_config();
  std::string t = "[store]\n";
  t += kind == StoreKind::kMemory ? "db = \"memory:\"\n"
                                  : "db = \"" + (dir / "v.db").string() + "\"\n";
  t += "key_file = \"" + (dir / "veribind.key").string() + "\"\n\n[verifier]\n";
  t += "code_ttl_seconds = " + std::to_string(c.code_ttl.count()) + "\n";
  t += "max_checks = " + std::to_string(c.max_checks) + "\n";
  t += "max_failed_checks = " + std::to_string(c.max_failed_checks) + "\n";
  t += "failure_window_seconds = " + std::to_string(c.failure_window.count()) + "\n";
  t += "resend_cooldown_seconds = " + std::to_string(c.resend_cooldown.count()) + "\n";
  t += "max_sends_per_hour = " + std::to_string(c.max_sends_per_hour) + "\n";
  t += "global_sends_per_hour = " + std::to_string(c.global_sends_per_hour) + "\n";
  t += "client_starts_per_window = " + std::to_string(c.client_starts_per_window) + "\n";
  t += "client_checks_per_window = " + std::to_string(c.client_checks_per_window) + "\n\n";
  t += "[server]\napi_keys = \"" + (dir / "keys").string() + "\"\n";
  t += "threads = " + std::to_string(threads) + "\n";
  return t;
}

// The CLI binary: VERIBIND_CLI from the environment, else the one built beside this benchmark.
std::string cli_binary() {
  if (const char* path = std::getenv("VERIBIND_CLI")) return path;
  return VERIBIND_CLI_PATH;
}

int server_threads() {
  const char* threads = std::getenv("VERIBIND_SERVE_THREADS");
  return threads != nullptr ? std::atoi(threads) : 2;
}

// A code of the same length that is not `code` (which may be empty: not known).
std::string wrong_code_for(const std::string& code) {
  return !code.empty() && code[0] == '0' ? "100000" : "000000";
}

// A server with its own directory, key, API key and store, and one connection to it.
struct HttpWorld {
  explicit HttpWorld(StoreKind kind) {
    char dir_template[] = "/tmp/veribind-serve-bench-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) std::abort();
    dir = dir_template;
    const std::string cli = cli_binary();
    const std::string key_file = (dir / "veribind.key").string();
    vb::bench::run_or_abort({cli, "keygen", "--key-file", key_file}, (dir / "keygen.out").string());
    vb::bench::run_or_abort({cli, "apikey", "create", "--scope", "verify", "--json", "--api-keys",
                             (dir / "keys").string(), "--key-file", key_file},
                            (dir / "apikey.out").string());
    api_key = vb::bench::json_string_field(vb::bench::read_whole_file(dir / "apikey.out"), "key");
    if (api_key.empty()) std::abort();
    std::ofstream(dir / "veribind.toml") << workload_toml(dir, kind, server_threads());
    server.emplace(cli, dir);
    // serve says so when it opens a MemoryStore; without that line it opened an SQLite file.
    if (kind == StoreKind::kMemory &&
        vb::bench::read_whole_file(dir / "serve.log").find("\"store memory:") ==
            std::string::npos) {
      std::fprintf(stderr, "serve bench: the server did not open a MemoryStore\n");
      std::abort();
    }
    client.emplace(server->port());
    start_challenges();
  }
  ~HttpWorld() {
    client.reset();
    server.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  // kLive challenges, each for its own identifier, and their check requests. The development
  // sender's codes are read back (GET /demo/codes/{id}) so that the wrong code is surely wrong
  // (a fixed code would be right once in 10^6 challenges); the sender keeps 1024 codes and gets
  // them from the outbox's workers, so they are read in batches, after their starts.
  void start_challenges() {
    constexpr std::size_t kBatch = 500;
    checks.reserve(kLive);
    vb::bench::HttpReply reply;
    std::vector<std::string> ids;
    for (std::size_t k = 0; k < kLive; ++k) {
      const std::string body =
          R"({"to":"bench)" + std::to_string(k) + R"(@example.com","channel":"email"})";
      if (!client->exchange(
              vb::bench::HttpClient::request("POST", "/v1/verifications", api_key, body), reply) ||
          reply.status != 201) {
        std::fprintf(stderr, "serve bench: start answered %d %s\n", reply.status,
                     reply.body.c_str());
        std::abort();
      }
      ids.push_back(vb::bench::json_string_field(reply.body, "id"));
      if (ids.size() == kBatch || k + 1 == kLive) {
        for (const std::string& id : ids) {
          checks.push_back(vb::bench::HttpClient::request(
              "POST", "/v1/verifications/" + id + "/check", api_key,
              R"({"code":")" + wrong_code_for(demo_code(id)) + R"("})"));
        }
        ids.clear();
      }
    }
  }

  // The code the development sender holds for `id`, or empty if it has none within ~100 ms (and
  // then, for the rest of this world, empty at once: the fixed code is used).
  std::string demo_code(const std::string& id) {
    if (!demo_codes_readable) return {};
    vb::bench::HttpReply reply;
    const std::string request =
        vb::bench::HttpClient::request("GET", "/demo/codes/" + id, api_key, "");
    for (int attempt = 0; attempt < 100; ++attempt) {
      if (!client->exchange(request, reply)) std::abort();
      if (reply.status == 200) return vb::bench::json_string_field(reply.body, "code");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::fprintf(stderr, "serve bench: no demo code (%d %s): a fixed wrong code is used\n",
                 reply.status, reply.body.c_str());
    demo_codes_readable = false;
    return {};
  }

  fs::path dir;
  std::string api_key;
  std::optional<vb::bench::ServeProcess> server;
  std::optional<vb::bench::HttpClient> client;
  std::vector<std::string> checks;  // whole requests, walked in order
  bool demo_codes_readable = true;
  std::size_t next = 0;  // the next request: kept across runs, so walks stay even
  int passes = 0;        // full walks of `checks`
};

// One world per store, kept across the runs Google Benchmark makes of the same benchmark, and
// rebuilt once its challenges have had kPassesPerWorld checks each.
template <typename World>
World& world_of(StoreKind kind) {
  static std::unique_ptr<World> worlds[2];
  auto& w = worlds[kind == StoreKind::kMemory ? 0 : 1];
  if (!w || w->passes >= kPassesPerWorld) {
    w.reset();
    w = std::make_unique<World>(kind);
  }
  return *w;
}

void BM_Check_Http(benchmark::State& state, StoreKind kind) {
  HttpWorld* w = &world_of<HttpWorld>(kind);
  vb::bench::HttpReply reply;
  double server_cpu = -w->server->cpu_seconds();
  for (auto _ : state) {
    if (!w->client->exchange(w->checks[w->next], reply) || reply.status != 200 ||
        reply.body.find(R"("valid":false)") == std::string::npos) {
      state.SkipWithError("a wrong code was not answered 200 valid:false");
      break;
    }
    benchmark::DoNotOptimize(reply.body.data());
    if (++w->next == kLive) {
      w->next = 0;
      if (++w->passes == kPassesPerWorld) {
        state.PauseTiming();
        server_cpu += w->server->cpu_seconds();
        w = &world_of<HttpWorld>(kind);
        server_cpu -= w->server->cpu_seconds();
        state.ResumeTiming();
      }
    }
  }
  server_cpu += w->server->cpu_seconds();
  state.SetItemsProcessed(state.iterations());
  state.counters["live_challenges"] = static_cast<double>(kLive);
  // The server's own CPU per check (all its threads), beside the client's time.
  state.counters["server_cpu_us"] =
      1e6 * server_cpu /
      static_cast<double>(std::max<benchmark::IterationCount>(1, state.iterations()));
}
BENCHMARK_CAPTURE(BM_Check_Http, memory, StoreKind::kMemory)->UseRealTime();
BENCHMARK_CAPTURE(BM_Check_Http, sqlite, StoreKind::kSqlite)->UseRealTime();

// The floor under BM_Check_Http: the same client sends the same check request over a loopback
// connection to a thread of this process that reads it and writes back a canned reply of the
// server's size (headers and {"status":"pending","valid":false}), with no parsing, no handler and
// no log. What BM_Check_Http costs beyond this is the server's own work.
class LoopbackEcho {
 public:
  LoopbackEcho(std::size_t request_bytes, std::string reply)
      : request_bytes_(request_bytes), reply_(std::move(reply)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listener_, 1) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      std::abort();
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackEcho() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  LoopbackEcho(const LoopbackEcho&) = delete;
  LoopbackEcho& operator=(const LoopbackEcho&) = delete;
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  void serve() {
    const int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::vector<char> buffer(request_bytes_);
    for (;;) {
      for (std::size_t got = 0; got < request_bytes_;) {
        const ssize_t n = ::recv(fd, buffer.data() + got, request_bytes_ - got, 0);
        if (n <= 0) {
          ::close(fd);
          return;
        }
        got += static_cast<std::size_t>(n);
      }
      if (::send(fd, reply_.data(), reply_.size(), MSG_NOSIGNAL) <= 0) break;
    }
    ::close(fd);
  }
  std::size_t request_bytes_;
  std::string reply_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

void BM_Loopback_RoundTrip(benchmark::State& state) {
  const std::string request = vb::bench::HttpClient::request(
      "POST", "/v1/verifications/" + std::string(32, 'a') + "/check",
      "vbk_0123456789abcdef_" + std::string(43, 'a'), R"({"code":"000000"})");
  // The server's reply to a wrong code, byte for byte in size.
  const std::string body = R"({"status":"pending","valid":false})";
  const std::string reply =
      "HTTP/1.1 200 OK\r\nDate: Wed, 02 Dec 2026 06:46:55 GMT\r\nContent-Type: "
      "application/json\r\nContent-Length: " +
      std::to_string(body.size()) +
      "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n" + body;
  LoopbackEcho echo(request.size(), reply);
  vb::bench::HttpClient client(echo.port());
  vb::bench::HttpReply answer;
  for (auto _ : state) {
    if (!client.exchange(request, answer) || answer.status != 200) {
      state.SkipWithError("the echo failed");
      break;
    }
    benchmark::DoNotOptimize(answer.body.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Loopback_RoundTrip)->UseRealTime();

// The library's side: a Verifier over a MemoryStore or a fresh SqliteStore (default options, as
// the server opens it), the same configuration and the same client key as the server's.
struct LibraryWorld {
  explicit LibraryWorld(StoreKind kind) : ring(vb::bench::bench_ring()) {
    if (kind == StoreKind::kMemory) {
      memory = std::make_unique<vb::MemoryStore>();
    } else {
      sqlite = vb::bench::open_fresh_sqlite_store();
    }
    vb::VerificationStore& store = memory ? static_cast<vb::VerificationStore&>(*memory)
                                          : static_cast<vb::VerificationStore&>(*sqlite);
    verifier.emplace(vb::Verifier::create(workload_config(), ring, store, sender, clock).value());
    vb::bench::start_many(*verifier, sender, kLive, challenges);
  }
  vb::KeyRing ring;
  std::unique_ptr<vb::MemoryStore> memory;
  std::unique_ptr<vb::SqliteStore> sqlite;
  vb::bench::LastCodeSender sender;
  vb::SystemClock clock;
  std::optional<vb::Verifier> verifier;
  std::vector<vb::bench::LiveChallenge> challenges;
  std::size_t next = 0;  // the next challenge: kept across runs, so walks stay even
  int passes = 0;        // full walks of `challenges`
};

void BM_Check_Library(benchmark::State& state, StoreKind kind) {
  LibraryWorld* w = &world_of<LibraryWorld>(kind);
  const vb::RequestContext context{.client_key = kLoopbackClientKey};
  for (auto _ : state) {
    const vb::bench::LiveChallenge& c = w->challenges[w->next];
    auto r = w->verifier->check(c.id(), c.wrong_code(), vb::Purpose::kSignup, context);
    if (!r || r->outcome != vb::CheckOutcome::kWrongCode) {
      state.SkipWithError("a wrong code was not answered kWrongCode");
      break;
    }
    benchmark::DoNotOptimize(r);
    if (++w->next == kLive) {
      w->next = 0;
      if (++w->passes == kPassesPerWorld) {
        state.PauseTiming();
        w = &world_of<LibraryWorld>(kind);
        state.ResumeTiming();
      }
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["live_challenges"] = static_cast<double>(kLive);
}
BENCHMARK_CAPTURE(BM_Check_Library, memory, StoreKind::kMemory)->UseRealTime();
BENCHMARK_CAPTURE(BM_Check_Library, sqlite, StoreKind::kSqlite)->UseRealTime();

}  // namespace
