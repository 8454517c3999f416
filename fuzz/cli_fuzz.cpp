// The `veribind` program's argument handling: parse_command_line() on any argv, then the command
// itself, run with its --db and --key-file moved under a directory that does not exist, so that
// every command stops before it can create or open a file (no key can be loaded). demo and
// compare are parsed but not run: one makes a temporary directory, the other measures for seconds
// on scratch stores, both by design.
//
// Input: the argv entries after the program name, separated by NUL bytes.
//
// Properties: no exception escapes; parsing prints nothing but help; exit statuses are the
// documented ones (normalize 0 or 2; every other command, lacking a key, 2, 3 or 4; a refused
// command line 2); with --json stdout is exactly one JSON object, errors included, and stderr is
// empty; without it an error is one "veribind: ... [code]" line on stderr and stdout is empty;
// errors never repeat the phone number, email address or code given; no file is created.
#include <sys/stat.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cli.hpp"
#include "fuzz_check.hpp"

namespace {

namespace cli = veribind::cli;
using cli::Command;

constexpr std::string_view kJail = "/nonexistent-veribind-fuzz";

bool jail_exists() {
  struct stat info {};
  return ::stat(std::string(kJail).c_str(), &info) == 0 || errno != ENOENT;
}

// Points std::cout or std::cerr at a string for the lifetime of the object.
class Capture {
 public:
  explicit Capture(std::ostream& stream) : stream_(stream), saved_(stream.rdbuf(text_.rdbuf())) {}
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  ~Capture() { stream_.rdbuf(saved_); }
  [[nodiscard]] std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::ostream& stream_;
  std::streambuf* saved_;
};

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// A value that no fixed message or option name could contain by chance: five digits, or a letter
// or digit right before an '@'.
bool echo_detectable(std::string_view value) {
  if (veribind::fuzz::count_digits(value) >= 5) return true;
  for (std::size_t i = 1; i < value.size(); ++i) {
    if (value[i] == '@' && is_alnum(value[i - 1])) return true;
  }
  return false;
}

// The personal data and codes on the command line, as parsed.
std::vector<std::string> secrets(const cli::CommandLine& line) {
  std::vector<std::string> out;
  for (const cli::IdentifierOptions* id : {&line.identifier, &line.start.identifier,
                                           &line.link.identifier, &line.disclose.identifier}) {
    if (id->phone) out.push_back(*id->phone);
    if (id->email) out.push_back(*id->email);
  }
  out.push_back(line.check.code);
  out.push_back(line.link.code);
  return out;
}

void check_no_echo(const cli::CommandLine& line, const std::string& output) {
  for (const std::string& value : secrets(line)) {
    if (!echo_detectable(value)) continue;
    // Paths are echoed in errors ("no key file at ..."); a value inside one is not an echo.
    if (line.common.db.find(value) != std::string::npos ||
        line.common.key_file.find(value) != std::string::npos ||
        (line.config_path && line.config_path->find(value) != std::string::npos)) {
      continue;
    }
    FUZZ_CHECK(output.find(value) == std::string::npos,
               "an error repeats a phone number, email address or code");
  }
}

bool is_one_json_object(const std::string& text) {
  if (text.empty() || text.back() != '\n' || text.find('\n') != text.size() - 1) return false;
  const nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return value.is_object();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  FUZZ_CHECK(!jail_exists(), "the jail directory must not exist (remove it)");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args = {"veribind"};
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (std::size_t start = 0; start <= input.size();) {
    const std::size_t end = std::min(input.find('\0', start), input.size());
    args.emplace_back(input.substr(start, end - start));
    start = end + 1;
  }
  if (size == 0) args.pop_back();  // no argument at all, rather than one empty one
  std::vector<const char*> argv;
  for (const std::string& arg : args) argv.push_back(arg.c_str());

  std::ostringstream help_out;
  std::ostringstream help_err;
  cli::CommandLine line;
  try {
    line = cli::parse_command_line(static_cast<int>(argv.size()), argv.data(), help_out, help_err);
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, std::string("parse_command_line let an exception out: ") + e.what());
  } catch (...) {
    FUZZ_CHECK(false, "parse_command_line let an exception out");
  }
  FUZZ_CHECK(help_err.str().empty(), "parsing writes nothing to the error stream");
  if (line.command == Command::kNone) {
    FUZZ_CHECK(line.usage_error.is_ok() != help_out.str().empty(),
               "help is printed exactly when no usage error is reported");
    FUZZ_CHECK(line.usage_error.is_ok() ||
                   line.usage_error.code() == veribind::ErrorCode::kInvalidArgument,
               "a refused command line is kInvalidArgument");
  } else {
    FUZZ_CHECK(help_out.str().empty(), "a command to run prints no help");
  }
  // demo makes a temporary directory, compare measures for seconds on scratch stores, and serve
  // listens until it is stopped, all by design: parsed, not run.
  if (line.command == Command::kDemo || line.command == Command::kCompare ||
      line.command == Command::kServe) {
    return 0;
  }

  line.common.db = std::string(kJail) + "/" + line.common.db;
  line.common.key_file = std::string(kJail) + "/" + line.common.key_file;
  if (line.config_path) *line.config_path = std::string(kJail) + "/" + *line.config_path;
  line.apikey.api_keys = std::string(kJail) + "/" + line.apikey.api_keys;
  for (std::string* keys :
       {&line.link.contact_keys, &line.unlink.contact_keys, &line.rotate.contact_keys,
        &line.erase.contact_keys, &line.contact.contact_keys}) {
    *keys = std::string(kJail) + "/" + *keys;
  }
  int status = -1;
  std::string out;
  std::string err;
  {
    Capture capture_out(std::cout);
    Capture capture_err(std::cerr);
    try {
      status = cli::run_command(line);
    } catch (const std::exception& e) {
      FUZZ_CHECK(false, std::string("a command let an exception out: ") + e.what());
    } catch (...) {
      FUZZ_CHECK(false, "a command let an exception out");
    }
    out = capture_out.text();
    err = capture_err.text();
  }
  FUZZ_CHECK(!jail_exists(), "a command created a file");

  switch (line.command) {
    case Command::kNone:
      FUZZ_CHECK(status == (line.usage_error.is_ok() ? cli::kExitOk : cli::kExitBadInput),
                 "help exits 0, a refused command line 2");
      break;
    case Command::kNormalize:
      FUZZ_CHECK(status == cli::kExitOk || status == cli::kExitBadInput, "normalize exits 0 or 2");
      break;
    default:
      FUZZ_CHECK(
          status == cli::kExitBadInput || status == cli::kExitPolicy || status == cli::kExitSystem,
          "without a key a command exits 2, 3 or 4");
  }

  if (line.command == Command::kNone && line.usage_error.is_ok()) {
    FUZZ_CHECK(out.empty() && err.empty(), "after help, running prints nothing more");
  } else if (line.common.json) {
    FUZZ_CHECK(is_one_json_object(out), "with --json, stdout is exactly one JSON object");
    FUZZ_CHECK(err.empty(), "with --json, nothing goes to stderr here");
  } else if (status != cli::kExitOk) {
    FUZZ_CHECK(out.empty(), "an error prints nothing on stdout");
    FUZZ_CHECK(err.rfind("veribind: ", 0) == 0 && err.size() > 2 &&
                   err.substr(err.size() - 2) == "]\n" && err.find('\n') == err.size() - 1,
               "an error is one 'veribind: ... [code]' line on stderr");
  }
  if (status != cli::kExitOk) check_no_echo(line, out + err);
  return 0;
}
