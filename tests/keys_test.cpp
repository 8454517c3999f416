#include "veribind/keys.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace veribind;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/veribind-keys-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

void write_file(const fs::path& p, std::size_t size, fs::perms perms) {
  std::ofstream(p, std::ios::binary) << std::string(size, 'k');
  fs::permissions(p, perms);
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// The versions a manifest lists: its lines that are not comments.
std::vector<std::string> manifest_lines(const fs::path& p) {
  std::istringstream in(file_bytes(p));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  }
  return lines;
}

// Runs `load` in a child process that SIGALRM kills after `seconds`: the exit code is what the
// load returned (as an ErrorCode), or -1 if it did not return in time.
template <typename Load>
int code_within(unsigned seconds, Load load) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::alarm(seconds);
    _exit(static_cast<int>(load()));
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  if (WIFSIGNALED(status)) return -1;
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("keygen: writes 32 random bytes with mode 0600, and loads back", "[keys]") {
  TempDir dir;
  const fs::path key = dir.path / "veribind.key";
  REQUIRE(KeyRing::generate_key_file(key.string()).is_ok());
  CHECK(fs::file_size(key) == 32);
  struct stat st {};
  REQUIRE(::stat(key.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto ring = KeyRing::load_key_file(key.string());
  REQUIRE(ring.is_ok());
  CHECK(ring->current_version() == 1);

  const fs::path other = dir.path / "other.key";
  REQUIRE(KeyRing::generate_key_file(other.string()).is_ok());
  CHECK(file_bytes(key) != file_bytes(other));
}

TEST_CASE("keygen: refuses to overwrite an existing file, which stays unchanged", "[keys]") {
  TempDir dir;
  const fs::path key = dir.path / "veribind.key";
  REQUIRE(KeyRing::generate_key_file(key.string()).is_ok());
  const std::string before = file_bytes(key);
  CHECK(KeyRing::generate_key_file(key.string()).code() == ErrorCode::kInvalidArgument);
  CHECK(file_bytes(key) == before);
  CHECK(KeyRing::generate_key_file((dir.path / "missing-dir" / "k").string()).code() ==
        ErrorCode::kKeyUnavailable);
}

TEST_CASE("key file: readable or writable by group or others is refused", "[keys]") {
  TempDir dir;
  const fs::path key = dir.path / "veribind.key";
  REQUIRE(KeyRing::generate_key_file(key.string()).is_ok());
  for (fs::perms extra : {fs::perms::group_read, fs::perms::others_read, fs::perms::group_write,
                          fs::perms::others_write}) {
    fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write | extra);
    auto ring = KeyRing::load_key_file(key.string());
    CHECK(ring.code() == ErrorCode::kKeyFileInsecure);
  }
  fs::permissions(key, fs::perms::owner_read);
  CHECK(KeyRing::load_key_file(key.string()).is_ok());
}

TEST_CASE("key file: wrong size, not a regular file, a symlink, or missing are refused", "[keys]") {
  TempDir dir;
  const auto owner = fs::perms::owner_read | fs::perms::owner_write;
  write_file(dir.path / "short.key", 31, owner);
  write_file(dir.path / "long.key", 33, owner);
  write_file(dir.path / "empty.key", 0, owner);
  CHECK(KeyRing::load_key_file((dir.path / "short.key").string()).code() ==
        ErrorCode::kKeyFileMalformed);
  CHECK(KeyRing::load_key_file((dir.path / "long.key").string()).code() ==
        ErrorCode::kKeyFileMalformed);
  CHECK(KeyRing::load_key_file((dir.path / "empty.key").string()).code() ==
        ErrorCode::kKeyFileMalformed);
  fs::create_directory(dir.path / "dir.key");
  fs::permissions(dir.path / "dir.key", fs::perms::owner_all);
  CHECK(KeyRing::load_key_file((dir.path / "dir.key").string()).code() ==
        ErrorCode::kKeyFileMalformed);
  write_file(dir.path / "real.key", 32, owner);
  fs::create_symlink(dir.path / "real.key", dir.path / "link.key");
  CHECK(KeyRing::load_key_file((dir.path / "link.key").string()).code() ==
        ErrorCode::kKeyFileMalformed);
  CHECK(KeyRing::load_key_file((dir.path / "none.key").string()).code() ==
        ErrorCode::kKeyUnavailable);
  CHECK(KeyRing::load_key_file((dir.path / "real.key").string(), 0).code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("subkeys: one per purpose and version, deterministic for one master key", "[keys]") {
  auto master = [] { return SecretBytes::copy_of(std::array<std::uint8_t, 32>{7}); };
  KeyRing a = KeyRing::from_master_key(master(), 1).value();
  KeyRing b = KeyRing::from_master_key(master(), 1).value();
  KeyRing v2 = KeyRing::from_master_key(master(), 2).value();
  const SecretBytes index_a = a.derive(KeyPurpose::kBlindIndex, 1).value();
  CHECK(index_a.size() == 32);
  CHECK(index_a == b.derive(KeyPurpose::kBlindIndex, 1).value());
  CHECK_FALSE(index_a == a.derive(KeyPurpose::kCodeTag, 1).value());
  CHECK_FALSE(index_a == v2.derive(KeyPurpose::kBlindIndex, 2).value());
  CHECK(a.derive(KeyPurpose::kBlindIndex, 2).code() == ErrorCode::kKeyUnavailable);
  CHECK(KeyRing::from_master_key(SecretBytes::random(31), 1).code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("key file: a FIFO is refused at once, without waiting for a writer", "[keys]") {
  TempDir dir;
  const fs::path fifo = dir.path / "veribind.key";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const int code = code_within(10, [&] { return KeyRing::load_key_file(fifo.string()).code(); });
  CHECK(code == static_cast<int>(ErrorCode::kKeyFileMalformed));
  const int ring_code =
      code_within(10, [&] { return KeyRing::load_key_files(fifo.string()).code(); });
  CHECK(ring_code == static_cast<int>(ErrorCode::kKeyFileMalformed));
}

TEST_CASE("key file: a key in a directory reached through a symbolic link is refused", "[keys]") {
  TempDir dir;
  fs::create_directory(dir.path / "real");
  REQUIRE(KeyRing::generate_key_file((dir.path / "real" / "veribind.key").string()).is_ok());
  fs::create_directory_symlink(dir.path / "real", dir.path / "link");
  const std::string through_link = (dir.path / "link" / "veribind.key").string();
  auto loaded = KeyRing::load_key_file(through_link);
  CHECK(loaded.code() == ErrorCode::kKeyFileInsecure);
  CHECK(loaded.status().message().find("directory") != std::string::npos);
  CHECK(KeyRing::load_key_files(through_link).code() == ErrorCode::kKeyFileInsecure);
  CHECK(KeyRing::generate_key_file((dir.path / "link" / "new.key").string()).code() ==
        ErrorCode::kKeyFileInsecure);
  CHECK_FALSE(fs::exists(dir.path / "real" / "new.key"));
  // The real directory's path is fine.
  CHECK(KeyRing::load_key_file((dir.path / "real" / "veribind.key").string()).is_ok());
}

TEST_CASE("key files: keygen writes a manifest of the versions in use, mode 0600", "[keys]") {
  TempDir dir;
  const std::string base = (dir.path / "veribind.key").string();
  CHECK(KeyRing::key_manifest_path(base) == base + ".versions");
  REQUIRE(KeyRing::generate_key_file(base, 1).is_ok());
  const fs::path manifest = KeyRing::key_manifest_path(base);
  struct stat st {};
  REQUIRE(::stat(manifest.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(manifest_lines(manifest) == std::vector<std::string>{"1"});
  REQUIRE(KeyRing::generate_key_file(base, 2).is_ok());
  CHECK(manifest_lines(manifest) == std::vector<std::string>{"1", "2"});
  REQUIRE(KeyRing::destroy_key_file(base, 1).is_ok());
  CHECK(manifest_lines(manifest) == std::vector<std::string>{"2"});
  CHECK(KeyRing::load_key_files(base)->versions() == std::vector<std::uint32_t>{2});
}

TEST_CASE("key files: a version file the manifest does not list is never loaded", "[keys]") {
  TempDir dir;
  const std::string base = (dir.path / "veribind.key").string();
  REQUIRE(KeyRing::generate_key_file(base, 1).is_ok());
  REQUIRE(KeyRing::generate_key_file(base, 2).is_ok());
  // A well-formed key dropped in the directory would otherwise become the current key...
  REQUIRE(KeyRing::generate_key_file(base + ".v3").is_ok());
  // ...and a malformed one would otherwise stop every command.
  write_file(base + ".v4", 5, fs::perms::owner_read | fs::perms::owner_write);
  auto ring = KeyRing::load_key_files(base);
  REQUIRE(ring.is_ok());
  CHECK(ring->versions() == std::vector<std::uint32_t>{1, 2});
  CHECK(ring->current_version() == 2);
}

TEST_CASE("key files: a listed version whose file is missing or malformed fails the load",
          "[keys]") {
  TempDir dir;
  const std::string base = (dir.path / "veribind.key").string();
  REQUIRE(KeyRing::generate_key_file(base, 1).is_ok());
  REQUIRE(KeyRing::generate_key_file(base, 2).is_ok());
  fs::resize_file(base + ".v2", 5);
  auto malformed = KeyRing::load_key_files(base);
  CHECK(malformed.code() == ErrorCode::kKeyFileMalformed);
  CHECK(malformed.status().message().find("key version 2") != std::string::npos);
  fs::remove(base + ".v2");
  auto missing = KeyRing::load_key_files(base);
  CHECK(missing.code() == ErrorCode::kKeyUnavailable);
  CHECK(missing.status().message().find("key version 2") != std::string::npos);
}

TEST_CASE("key files: a manifest writable by others, linked, or not a list of versions is refused",
          "[keys]") {
  TempDir dir;
  const std::string base = (dir.path / "veribind.key").string();
  const fs::path manifest = KeyRing::key_manifest_path(base);
  REQUIRE(KeyRing::generate_key_file(base, 1).is_ok());
  const auto owner = fs::perms::owner_read | fs::perms::owner_write;
  for (fs::perms extra : {fs::perms::group_write, fs::perms::others_write}) {
    fs::permissions(manifest, owner | extra);
    CHECK(KeyRing::load_key_files(base).code() == ErrorCode::kKeyFileInsecure);
    CHECK(KeyRing::generate_key_file(base, 2).code() == ErrorCode::kKeyFileInsecure);
  }
  CHECK_FALSE(fs::exists(base + ".v2"));
  fs::permissions(manifest, owner);
  REQUIRE(KeyRing::load_key_files(base).is_ok());

  for (const char* content :
       {"one\n", "1\n1\n", "2\n1\n", "0\n", "01\n", "1 2\n", "99999999999\n"}) {
    INFO(content);
    { std::ofstream(manifest, std::ios::trunc) << content; }
    CHECK(KeyRing::load_key_files(base).code() == ErrorCode::kKeyFileMalformed);
  }
  { std::ofstream(manifest, std::ios::trunc) << "# nothing in use\n"; }
  CHECK(KeyRing::load_key_files(base).code() == ErrorCode::kKeyUnavailable);

  fs::remove(manifest);
  { std::ofstream(dir.path / "elsewhere") << "1\n"; }
  fs::permissions(dir.path / "elsewhere", owner);
  fs::create_symlink(dir.path / "elsewhere", manifest);
  CHECK(KeyRing::load_key_files(base).code() == ErrorCode::kKeyFileMalformed);
}

TEST_CASE(
    "key files: a directory from before manifests loads its lone key file, and with several "
    "versions needs a manifest first",
    "[keys]") {
  TempDir dir;
  const std::string base = (dir.path / "veribind.key").string();
  const fs::path manifest = KeyRing::key_manifest_path(base);
  // What the previous release left: the key file, written without a manifest.
  REQUIRE(KeyRing::generate_key_file(base).is_ok());
  REQUIRE_FALSE(fs::exists(manifest));
  CHECK(KeyRing::load_key_files(base)->versions() == std::vector<std::uint32_t>{1});
  CHECK_FALSE(fs::exists(manifest));  // loading writes nothing

  // A rotated directory of the previous release: versions beside it, and no manifest. No file
  // is picked as current by its name alone: the load is refused until the versions are named.
  REQUIRE(KeyRing::generate_key_file(base + ".v2").is_ok());
  auto refused = KeyRing::load_key_files(base);
  CHECK(refused.code() == ErrorCode::kKeyFileInsecure);
  CHECK(refused.status().message().find(".versions") != std::string::npos);
  CHECK(KeyRing::generate_key_file(base, 3).code() == ErrorCode::kKeyFileInsecure);
  CHECK_FALSE(fs::exists(base + ".v3"));

  CHECK(KeyRing::write_key_manifest(base, {}).code() == ErrorCode::kInvalidArgument);
  CHECK(KeyRing::write_key_manifest(base, {1, 5}).code() == ErrorCode::kKeyUnavailable);
  CHECK_FALSE(fs::exists(manifest));
  REQUIRE(KeyRing::write_key_manifest(base, {1, 2}).is_ok());
  struct stat st {};
  REQUIRE(::stat(manifest.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto ring = KeyRing::load_key_files(base);
  REQUIRE(ring.is_ok());
  CHECK(ring->versions() == std::vector<std::uint32_t>{1, 2});

  // Without a manifest, a lone key file and keygen of version 2 writes one naming both.
  TempDir single;
  const std::string lone = (single.path / "veribind.key").string();
  REQUIRE(KeyRing::generate_key_file(lone).is_ok());
  REQUIRE(KeyRing::generate_key_file(lone, 2).is_ok());
  CHECK(manifest_lines(KeyRing::key_manifest_path(lone)) == std::vector<std::string>{"1", "2"});
}
