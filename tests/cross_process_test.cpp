// Guarantees across nodes, with real processes: each child is forked and opens its own store
// (its own connections, its own file handles) after the fork, as a separate backend node would.
// Every test runs on SQLite (one file shared by the processes) and on PostgreSQL (one schema
// shared by the processes, on the ctest pg_start server).
//
// Children never use Catch2: they report through a pipe and their exit status, and the parent
// asserts after they are gone.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fakes/keys.hpp"
#include "fakes/recording_sender.hpp"
#include "store/postgres_support.hpp"
#include "veribind/postgres_store.hpp"
#include "veribind/sqlite_store.hpp"
#include "veribind/veribind.hpp"

namespace veribind::testing {
namespace {

namespace fs = std::filesystem;

// A backend that several processes can open: an SQLite file in a temporary directory, or a
// PostgreSQL schema. Removed when the test is done.
class SharedBackend {
 public:
  static SharedBackend sqlite() {
    SharedBackend b;
    std::string pattern = "/tmp/veribind-nodes-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    b.dir_ = pattern;
    b.name_ = "sqlite";
    return b;
  }
  static SharedBackend postgres() {
    SharedBackend b;
    b.conninfo_ = pg_conninfo();
    b.options_.schema = new_schema_name();
    b.options_.pool_size = 2;
    b.name_ = "postgres";
    return b;
  }
  SharedBackend(SharedBackend&& other) noexcept
      : name_(std::move(other.name_)),
        dir_(std::exchange(other.dir_, {})),
        conninfo_(std::move(other.conninfo_)),
        options_(std::move(other.options_)) {
    other.options_.schema.clear();
  }
  SharedBackend& operator=(SharedBackend&&) = delete;
  SharedBackend(const SharedBackend&) = delete;
  SharedBackend& operator=(const SharedBackend&) = delete;
  ~SharedBackend() {
    if (!dir_.empty()) {
      std::error_code ignored;
      fs::remove_all(dir_, ignored);
    }
    if (!options_.schema.empty()) drop_schema(conninfo_, options_.schema);
  }

  // A backend that implements every store interface, seen through each.
  struct Store {
    template <typename Backend>
    explicit Store(std::unique_ptr<Backend> backend)
        : verification(backend.get()),
          accounts(backend.get()),
          audit(backend.get()),
          owner(std::move(backend)) {}
    operator VerificationStore&() { return *verification; }
    operator AccountStore&() { return *accounts; }
    operator AuditStore&() { return *audit; }
    VerificationStore* operator->() { return verification; }
    VerificationStore* verification;
    AccountStore* accounts;
    AuditStore* audit;
    std::shared_ptr<void> owner;
  };

  // Opens a new store on the shared backend: a new connection (pool) or file handle.
  [[nodiscard]] Result<std::unique_ptr<Store>> open() const {
    if (!dir_.empty()) {
      auto s = SqliteStore::open((dir_ / "shared.db").string());
      if (!s) return s.status();
      return std::make_unique<Store>(std::move(*s));
    }
    auto s = PostgresStore::open(conninfo_, options_);
    if (!s) return s.status();
    return std::make_unique<Store>(std::move(*s));
  }
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  SharedBackend() = default;
  std::string name_;
  fs::path dir_;
  std::string conninfo_;
  PostgresOptions options_;
};

std::unique_ptr<SharedBackend::Store> must_open(const SharedBackend& backend) {
  auto store = backend.open();
  INFO(store.status().message());
  REQUIRE(store.is_ok());
  return std::move(*store);
}

// Writes all of `text` to `fd`. Lines under PIPE_BUF bytes reach a pipe whole or not at all.
void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(120);
    done += static_cast<std::size_t>(n);
  }
}

// Reads `fd` to end of file.
std::string read_all(int fd) {
  std::string out;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  // A line without its newline was cut by the kill: it reports nothing.
  while (std::getline(in, line)) {
    if (!in.eof()) lines.push_back(line);
  }
  return lines;
}

struct Child {
  pid_t pid = -1;
  int report_fd = -1;  // the read end of the child's report pipe
};

// Forks `count` children. Each runs body(index, report_fd) once a start signal arrives (all at
// once, when the parent closes the start pipe), then exits with body's status.
std::vector<Child> spawn(int count, const std::function<int(int, int)>& body) {
  int start[2];
  REQUIRE(::pipe(start) == 0);
  std::vector<Child> children;
  for (int i = 0; i < count; ++i) {
    int report[2];
    REQUIRE(::pipe(report) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(start[1]);
      ::close(report[0]);
      for (const Child& c : children) ::close(c.report_fd);
      char byte = 0;
      while (::read(start[0], &byte, 1) < 0 && errno == EINTR) {
      }
      ::_exit(body(i, report[1]));
    }
    ::close(report[1]);
    children.push_back({pid, report[0]});
  }
  ::close(start[0]);
  ::close(start[1]);  // go
  return children;
}

// Collects a child: its whole report, and its exit status (-1 if it did not exit normally).
std::pair<std::string, int> collect(const Child& child) {
  std::string report = read_all(child.report_fd);
  ::close(child.report_fd);
  int status = 0;
  REQUIRE(::waitpid(child.pid, &status, 0) == child.pid);
  return {report, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

SharedBackend backend_named(const std::string& name) {
  return name == "sqlite" ? SharedBackend::sqlite() : SharedBackend::postgres();
}

// The Verifier's defaults, but without the per-identifier limits that these tests do not exercise:
// they start codes to one identifier back to back (resend cooldown, sends per hour) and make
// many wrong guesses (failed checks per identifier). max_checks, the per-challenge limit that
// the races test, keeps its default unless a test sets it.
VerifierConfig node_config() {
  VerifierConfig config;
  config.resend_cooldown = std::chrono::seconds(0);
  config.max_sends_per_hour = 1000;
  config.max_failed_checks = 1000;
  return config;
}

// The verifier, registry and everything they refer to, for one process.
struct Node {
  Node(const SharedBackend& backend, const KeyRing& ring, VerifierConfig config)
      : store(backend.open()) {
    if (!store) return;
    auto v = Verifier::create(config, ring, **store, sender, clock);
    if (v) verifier.emplace(std::move(v).value());
  }
  Result<std::unique_ptr<SharedBackend::Store>> store;
  RecordingSender sender;
  SystemClock clock;
  std::optional<Verifier> verifier;
};

// --- (a) racing wrong codes at one challenge ----------------------------------------------------

void wrong_codes_race(const std::string& name) {
  {
    {
      const SharedBackend backend = backend_named(name);
      const KeyRing ring = random_ring();
      VerifierConfig config = node_config();
      config.max_checks = 5;
      Node parent(backend, ring, config);
      INFO(parent.store.status().message());
      REQUIRE(parent.verifier.has_value());
      const auto email = EmailAddress::parse("race@example.com").value();

      for (int round = 0; round < 3; ++round) {
        auto challenge = parent.verifier->start(email, Purpose::kSignup);
        INFO(challenge.status().message());
        REQUIRE(challenge.is_ok());
        REQUIRE(challenge->sent());
        const std::string code = parent.sender.last_code();
        const std::string wrong = code == "000000" ? "111111" : "000000";
        const std::string id = challenge->id;

        constexpr int kProcesses = 4, kGuesses = 6;
        auto children = spawn(kProcesses, [&](int, int report) {
          Node node(backend, ring, config);  // connects after the fork
          if (!node.verifier) return 10;
          std::string tally;
          for (int i = 0; i < kGuesses; ++i) {
            auto r = node.verifier->check(id, wrong, Purpose::kSignup);
            tally += !r                                       ? 'E'
                     : r->outcome == CheckOutcome::kWrongCode ? 'W'
                     : r->outcome == CheckOutcome::kLocked    ? 'L'
                                                              : '?';
          }
          write_all(report, tally + "\n");
          return 0;
        });
        int wrong_charged = 0, locked = 0, other = 0;
        for (const Child& child : children) {
          auto [report, status] = collect(child);
          CHECK(status == 0);
          for (char c : report) {
            if (c == 'W') ++wrong_charged;
            if (c == 'L') ++locked;
            if (c == 'E' || c == '?') ++other;
          }
        }
        CHECK(wrong_charged == 5);
        CHECK(locked == kProcesses * kGuesses - 5);
        CHECK(other == 0);
        auto record = (**parent.store)->find_challenge(*ChallengeId::parse(id));
        REQUIRE(record.is_ok());
        REQUIRE(record->has_value());
        CHECK((*record)->attempts == 5);
        // The limit holds for the right code too.
        auto right = parent.verifier->check(id, code, Purpose::kSignup);
        REQUIRE(right.is_ok());
        CHECK(right->outcome == CheckOutcome::kLocked);
      }
    }
  }
}

// --- (b) racing to link one phone number --------------------------------------------------------

void link_race(const std::string& name) {
  {
    {
      const SharedBackend backend = backend_named(name);
      const KeyRing ring = random_ring();
      const VerifierConfig config = node_config();
      Node parent(backend, ring, config);
      REQUIRE(parent.verifier.has_value());
      SystemClock clock;

      for (int round = 0; round < 5; ++round) {
        const auto phone = PhoneNumber::parse("+92300123456" + std::to_string(round), "PK").value();
        // Two verifications of the same number (two signups in flight), one per process.
        std::vector<std::pair<std::string, std::string>> challenges;
        for (int i = 0; i < 2; ++i) {
          auto challenge = parent.verifier->start(phone, Purpose::kSignup);
          INFO(challenge.status().message());
          REQUIRE(challenge.is_ok());
          REQUIRE(challenge->sent());
          challenges.emplace_back(challenge->id, parent.sender.last_code());
        }
        auto children = spawn(2, [&](int index, int report) {
          Node node(backend, ring, config);
          if (!node.verifier) return 10;
          auto registry =
              Registry::create(LinkPolicy::phone_linked(), ring, **node.store, **node.store, clock);
          if (!registry) return 11;
          auto checked = node.verifier->check(challenges[static_cast<std::size_t>(index)].first,
                                              challenges[static_cast<std::size_t>(index)].second,
                                              Purpose::kSignup);
          if (!checked || checked->outcome != CheckOutcome::kVerified) return 12;
          // With the identifier: the overload that also works under several key versions.
          const Status linked =
              registry->link("acct-" + std::to_string(round) + "-" + std::to_string(index),
                             std::move(*checked->verified), phone);
          write_all(report, std::string(error_code_name(linked.code())) + "\n");
          return 0;
        });
        std::vector<std::string> outcomes;
        for (const Child& child : children) {
          auto [report, status] = collect(child);
          CHECK(status == 0);
          outcomes.push_back(report);
        }
        std::sort(outcomes.begin(), outcomes.end());
        INFO("round " << round);
        REQUIRE(outcomes == std::vector<std::string>{"already_bound\n", "ok\n"});
        auto registry = Registry::create(LinkPolicy::phone_linked(), ring, **parent.store,
                                         **parent.store, clock);
        REQUIRE(registry.is_ok());
        auto bound = registry->find(phone);
        REQUIRE(bound.is_ok());
        REQUIRE(bound->size() == 1);
      }
    }
  }
}

// --- (c) a node killed mid-load -----------------------------------------------------------------

void killed_mid_load(const std::string& name) {
  {
    {
      const SharedBackend backend = backend_named(name);
      const KeyRing ring = random_ring();
      const VerifierConfig config = node_config();
      must_open(backend).reset();  // created (and migrated) before the children race to it
      SystemClock clock;

      for (int round = 0; round < 3; ++round) {
        auto email_of = [round](int i) {
          return EmailAddress::parse("crash" + std::to_string(round) + "-" + std::to_string(i) +
                                     "@example.com")
              .value();
        };
        auto account_of = [round](int i) {
          return "acct-" + std::to_string(round) + "-" + std::to_string(i);
        };
        // The load: start, a wrong code, the right code, link; each step reported (after it
        // returned, so after it committed) on the pipe. Runs until killed.
        auto children = spawn(1, [&](int, int report) {
          Node node(backend, ring, config);
          if (!node.verifier) return 10;
          auto registry =
              Registry::create(LinkPolicy::email_linked(), ring, **node.store, **node.store, clock);
          if (!registry) return 11;
          for (int i = 0; i < 100000; ++i) {
            auto challenge = node.verifier->start(email_of(i), Purpose::kSignup);
            if (!challenge || !challenge->sent()) return 12;
            const std::string code = node.sender.last_code();
            const std::string wrong = code == "000000" ? "111111" : "000000";
            auto miss = node.verifier->check(challenge->id, wrong, Purpose::kSignup);
            if (!miss || miss->outcome != CheckOutcome::kWrongCode) return 13;
            auto hit = node.verifier->check(challenge->id, code, Purpose::kSignup);
            if (!hit || hit->outcome != CheckOutcome::kVerified) return 14;
            write_all(report, "consumed " + challenge->id + " " + code + "\n");
            if (!registry->link(account_of(i), std::move(*hit->verified), email_of(i))) return 15;
            write_all(report, "linked " + std::to_string(i) + "\n");
          }
          return 0;
        });
        // Let it run a varying while (a few hundred operations), then kill it wherever it is.
        std::this_thread::sleep_for(std::chrono::milliseconds(300 + 170 * round));
        REQUIRE(::kill(children[0].pid, SIGKILL) == 0);
        auto [report, status] = collect(children[0]);
        CHECK(status == -1);  // killed, not exited: it was still working

        const std::vector<std::string> lines = lines_of(report);
        INFO(backend.name() << " round " << round << ": " << lines.size() << " reports");
        REQUIRE(lines.size() >= 4);  // it got somewhere before the kill

        // The store opens cleanly after the kill (SQLite recovers its WAL; PostgreSQL rolled
        // back whatever the dead connection had open).
        Node after(backend, ring, config);
        INFO(after.store.status().message());
        REQUIRE(after.verifier.has_value());
        auto registry =
            Registry::create(LinkPolicy::email_linked(), ring, **after.store, **after.store, clock);
        REQUIRE(registry.is_ok());
        int consumed = 0, linked = 0;
        for (const std::string& line : lines) {
          std::istringstream in(line);
          std::string kind;
          in >> kind;
          if (kind == "consumed") {
            std::string id, code;
            in >> id >> code;
            auto again = after.verifier->check(id, code, Purpose::kSignup);
            REQUIRE(again.is_ok());
            CHECK(again->outcome == CheckOutcome::kUnknown);
            ++consumed;
          } else if (kind == "linked") {
            int i = -1;
            in >> i;
            auto accounts = registry->find(email_of(i));
            REQUIRE(accounts.is_ok());
            CHECK(*accounts == std::vector<std::string>{account_of(i)});
            ++linked;
          } else {
            FAIL("unexpected report: " << line);
          }
        }
        CHECK(consumed >= 2);
        CHECK(linked >= 1);
        CHECK(linked <= consumed);
      }
    }
  }
}

TEST_CASE(
    "nodes [sqlite]: four processes racing wrong codes at one challenge charge max_checks in "
    "total, then the right code is locked",
    "[nodes][processes][sqlite]") {
  wrong_codes_race("sqlite");
}
TEST_CASE(
    "nodes [postgres]: four processes racing wrong codes at one challenge charge max_checks in "
    "total, then the right code is locked",
    "[nodes][processes][postgres]") {
  wrong_codes_race("postgres");
}
TEST_CASE(
    "nodes [sqlite]: two processes racing to link one phone number under phone_linked: exactly "
    "one succeeds, the other gets kAlreadyBound",
    "[nodes][processes][sqlite]") {
  link_race("sqlite");
}
TEST_CASE(
    "nodes [postgres]: two processes racing to link one phone number under phone_linked: exactly "
    "one succeeds, the other gets kAlreadyBound",
    "[nodes][processes][postgres]") {
  link_race("postgres");
}
TEST_CASE(
    "nodes [sqlite]: a process killed with SIGKILL mid-load leaves no consumed challenge "
    "verifiable, no committed binding missing, and a store that opens cleanly",
    "[nodes][processes][crash][sqlite]") {
  killed_mid_load("sqlite");
}
TEST_CASE(
    "nodes [postgres]: a process killed with SIGKILL mid-load leaves no consumed challenge "
    "verifiable, no committed binding missing, and a store that opens cleanly",
    "[nodes][processes][crash][postgres]") {
  killed_mid_load("postgres");
}

}  // namespace
}  // namespace veribind::testing
