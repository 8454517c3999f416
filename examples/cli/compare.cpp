// compare: the two linking policies side by side, with figures measured on this machine.
#include "veribind/compare.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "veribind/sqlite_store.hpp"

namespace veribind::cli {

namespace {

// Progress on stderr: one line rewritten in place on a terminal, one line per phase otherwise.
Progress stderr_progress() {
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  return [tty](std::string_view what, std::size_t done, std::size_t total) {
    if (tty) {
      std::cerr << "\rveribind compare: measuring " << what << ' ' << done << '/' << total
                << (done == total ? "\n" : "") << std::flush;
    } else if (done == 0) {
      std::cerr << "veribind compare: measuring " << what << " (" << total << " steps)\n";
    }
  };
}

// A directory for the scratch databases, removed with them.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "veribind-compare-XXXXXX");
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

Result<BindingBytes> binding_bytes(const ScratchDir& dir, const char* name, Channel channel,
                                   std::size_t accounts) {
  auto store = SqliteStore::open((dir.path() / name).string());
  if (!store) return store.status();
  return measure_binding_bytes(**store, **store, channel, accounts, SystemClock().now());
}

Status validate(const CompareOptions& o) {
  if (o.region.size() != 2) return {ErrorCode::kInvalidArgument, "--region: expected e.g. PK"};
  if (o.iterations < 1 || o.iterations > 100000000) {
    return {ErrorCode::kInvalidArgument, "--iterations must be 1..100000000"};
  }
  if (o.rounds < 1 || o.rounds > 1000) {
    return {ErrorCode::kInvalidArgument, "--rounds must be 1..1000"};
  }
  if (o.argon2id_hashes < 1 || o.argon2id_hashes > 1000) {
    return {ErrorCode::kInvalidArgument, "--argon2id-hashes must be 1..1000"};
  }
  if (o.accounts < 100 || o.accounts > 1000000) {
    return {ErrorCode::kInvalidArgument,
            "--accounts must be 100..1000000 (SQLite grows by whole pages)"};
  }
  if (o.argon2id_memlimit_mib < 1 || o.argon2id_memlimit_mib > 4096) {
    return {ErrorCode::kInvalidArgument, "--argon2id-memlimit-mib must be 1..4096"};
  }
  const Argon2idParams params{o.argon2id_opslimit, o.argon2id_memlimit_mib << 20};
  if (Status s = params.validate(); !s) return {s.code(), "--" + s.message()};
  if (o.space_samples < 2 || o.space_samples > 100000) {
    return {ErrorCode::kInvalidArgument, "--space-samples must be 2..100000"};
  }
  if (Status s = o.assumed.validate(); !s) return {s.code(), "assumption " + s.message()};
  return Status::ok();
}

nlohmann::json cell_json(const CompareCell& cell) {
  nlohmann::json object = {{"text", cell.text}};
  object["value"] = cell.value ? nlohmann::json(*cell.value) : nlohmann::json(nullptr);
  return object;
}

}  // namespace

int run_compare(const CommonOptions& common, const CompareOptions& options) {
  const Output out(common.json);
  if (Status s = validate(options); !s) return out.error(s);
  const Progress progress = stderr_progress();

  CompareMeasurements measured;
  MobileSpaceOptions space_options;
  space_options.samples_per_stratum = options.space_samples;
  auto space = estimate_mobile_space(options.region, space_options, progress);
  if (!space) return out.error(space.code(), "--region: " + space.status().message());
  measured.mobile_space = std::move(space).value();

  auto numbers = sample_mobile_numbers(options.region, 1024);
  if (!numbers) return out.error(numbers.status());
  auto blind = measure_blind_index_rate(*numbers, options.iterations, options.rounds, progress);
  if (!blind) return out.error(blind.status());
  measured.blind_index = *blind;
  auto sha = measure_sha256_rate(*numbers, options.iterations, options.rounds, progress);
  if (!sha) return out.error(sha.status());
  measured.sha256 = *sha;
  measured.argon2id_params = {options.argon2id_opslimit, options.argon2id_memlimit_mib << 20};
  auto argon =
      measure_argon2id_rate(*numbers, measured.argon2id_params, options.argon2id_hashes, progress);
  if (!argon) return out.error(argon.status());
  measured.argon2id = *argon;

  const ScratchDir dir;
  if (dir.path().empty()) {
    return out.error(ErrorCode::kUnavailable, "cannot create a scratch directory");
  }
  if (progress) progress("bytes per account", 0, 2);
  auto phone = binding_bytes(dir, "phone.db", Channel::kPhone, options.accounts);
  if (!phone) return out.error(phone.status());
  auto email = binding_bytes(dir, "email.db", Channel::kEmail, options.accounts);
  if (!email) return out.error(email.status());
  if (progress) progress("bytes per account", 2, 2);
  measured.phone_binding = *phone;
  measured.email_binding = *email;

  auto rows = compare_policies(measured, options.assumed);
  if (!rows) return out.error(rows.status());

  if (out.json()) {
    nlohmann::json list = nlohmann::json::array();
    for (const CompareRow& row : *rows) {
      list.push_back({{"key", row.key},
                      {"property", row.property},
                      {"basis", basis_name(row.basis)},
                      {"unit", row.unit},
                      {"phone_linked", cell_json(row.phone)},
                      {"email_linked", cell_json(row.email)},
                      {"note", row.note}});
    }
    out.emit({{"region", measured.mobile_space.region}, {"rows", list}});
    return kExitOk;
  }
  std::cout << "phone-linked vs email-linked accounts, region " << measured.mobile_space.region
            << " (+" << measured.mobile_space.calling_code << ")\n";
  for (const CompareRow& row : *rows) {
    std::cout << '\n'
              << row.property << "  [" << basis_name(row.basis) << "]\n"
              << "  phone-linked  " << row.phone.text << "\n"
              << "  email-linked  " << row.email.text << "\n"
              << "  (" << row.note << ")\n";
  }
  return kExitOk;
}

}  // namespace veribind::cli
