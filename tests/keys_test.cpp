#include "veribind/keys.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

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
