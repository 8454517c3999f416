// keygen --version, rotate, erase, contact: sealed contacts and key rotation.
//
// `contact` deliberately never prints the contact itself, only its masked form: it lets an
// operator confirm, for one account and a stated security purpose, that a contact is retained and
// still opens (before and after an erasure, or a rotation). Printing the plaintext would turn a
// shell loop over account ids into the bulk read the library refuses to offer, and leave
// addresses in terminal scrollback and shell logs. Code that must reach the user calls
// Registry::contact() and hands the result straight to a Sender.
#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli.hpp"
#include "reports.hpp"

namespace veribind::cli {

namespace {

// The key, the stores (the contact key store if present), a Registry over them and a Verifier
// that only counts live challenges (for what still uses a key version). Pinned in memory because
// the registry and the verifier refer to the others.
struct Session {
  Session(KeyRing key, Stores opened) : ring(std::move(key)), stores(std::move(opened)) {}
  KeyRing ring;
  Stores stores;
  SystemClock clock;
  ConsoleSender unused_sender{std::cerr};  // nothing is sent
  std::optional<Registry> registry;
  std::optional<Verifier> verifier;
};

Result<std::unique_ptr<Session>> open_session(const CommonOptions& common,
                                              const std::string& contact_keys_path,
                                              LinkPolicy policy = LinkPolicy::phone_linked()) {
  auto ring = load_key(common.key_file);
  if (!ring) return ring.status();
  auto stores =
      open_stores(common, OpenMode::kExisting, ContactKeyUse::kIfPresent, contact_keys_path);
  if (!stores) return stores.status();
  auto session = std::make_unique<Session>(std::move(ring).value(), std::move(stores).value());
  auto registry = session->stores.registry(std::move(policy), session->ring, session->clock);
  if (!registry) return registry.status();
  session->registry.emplace(std::move(registry).value());
  auto verifier = Verifier::create(common.verifier(), session->ring, session->stores.verification(),
                                   session->unused_sender, session->clock);
  if (!verifier) return verifier.status();
  session->verifier.emplace(std::move(verifier).value());
  return session;
}

}  // namespace

int run_keygen_version(const CommonOptions& common, const KeygenOptions& options) {
  const Output out(common.json);
  if (Status s = KeyRing::generate_key_file(common.key_file, options.version); !s) {
    return out.error(s);
  }
  const std::string path = KeyRing::key_file_path(common.key_file, options.version);
  if (out.json()) {
    out.emit({{"key_file", path},
              {"version", options.version},
              {"bytes", KeyRing::kMasterKeyBytes},
              {"mode", "0600"}});
  } else {
    std::cout << "wrote master key version " << options.version << " to " << path
              << " (mode 0600)\n"
              << "new bindings and codes now use it; run `veribind rotate` to move sealed "
                 "bindings, then retire the old version when nothing uses it\n";
  }
  return kExitOk;
}

int run_rotate(const CommonOptions& common, const RotateOptions& options) {
  const Output out(common.json);
  if (options.batch == 0) return out.error(ErrorCode::kInvalidArgument, "--batch: at least 1");
  if (options.retire && *options.retire == 0) {
    return out.error(ErrorCode::kInvalidArgument, "--retire: key versions start at 1");
  }
  auto session = open_session(common, options.contact_keys);
  if (!session) return out.error(session.status());
  Session& s = **session;
  const std::uint32_t current = s.ring.current_version();

  if (options.retire) {
    const std::uint32_t version = *options.retire;
    const auto versions = s.ring.versions();
    if (std::find(versions.begin(), versions.end(), version) == versions.end()) {
      return out.error(ErrorCode::kKeyUnavailable,
                       "--retire: there is no key version " + std::to_string(version));
    }
    if (version == current) {
      return out.error(ErrorCode::kInvalidArgument,
                       "--retire: version " + std::to_string(version) +
                           " is the current one; add a newer one with keygen --version first");
    }
    auto usage = s.registry->key_version_usage(version, *s.verifier);
    if (!usage) return out.error(usage.status());
    if (usage->total() != 0) {
      return out.error(ErrorCode::kKeyVersionInUse,
                       "key version " + std::to_string(version) + " is still used by " +
                           std::to_string(usage->total()) +
                           " rows: " + std::to_string(usage->bindings) +
                           " bindings (unsealed ones move when their owner next verifies), " +
                           std::to_string(usage->challenges) + " live challenges (they expire), " +
                           std::to_string(usage->data_keys) + " data keys (run veribind rotate), " +
                           std::to_string(usage->audit_entries) +
                           " audit log entries (they stay verifiable only with it)");
    }
    if (Status destroyed = KeyRing::destroy_key_file(common.key_file, version); !destroyed) {
      return out.error(destroyed);
    }
    if (out.json()) {
      out.emit({{"retired", version}, {"current", current}});
    } else {
      std::cout << "retired       key version " << version << ": nothing used it; its file is "
                << "overwritten and removed\n";
    }
    return kExitOk;
  }

  auto report = s.registry->rotate(options.batch);
  if (!report) return out.error(report.status());
  nlohmann::json remaining = nlohmann::json::array();
  for (std::uint32_t version : s.ring.versions()) {
    if (version == current) continue;
    auto usage = s.registry->key_version_usage(version, *s.verifier);
    if (!usage) return out.error(usage.status());
    remaining.push_back(key_usage_json(version, *usage));
  }
  if (out.json()) {
    out.emit({{"current", current},
              {"data_keys_rewrapped", report->data_keys_rewrapped},
              {"sealed_reindexed", report->sealed_reindexed},
              {"awaiting_verification", report->awaiting_verification},
              {"sealed_unreadable", report->sealed_unreadable},
              {"older_versions", remaining}});
    return kExitOk;
  }
  std::cout << "current key version   " << current << '\n'
            << "data keys re-wrapped  " << report->data_keys_rewrapped << '\n'
            << "sealed re-indexed     " << report->sealed_reindexed << '\n'
            << "awaiting verification " << report->awaiting_verification
            << " (unsealed bindings: they move when their owner next verifies)\n";
  if (report->sealed_unreadable != 0) {
    std::cout << "sealed, key gone      " << report->sealed_unreadable
              << " (an erasure was interrupted: run veribind erase --finish-interrupted for "
                 "them again)\n";
  }
  for (const auto& usage : remaining) {
    std::cout << "version " << usage["version"] << " still used by " << usage["bindings"]
              << " bindings, " << usage["challenges"] << " live challenges, " << usage["data_keys"]
              << " data keys\n";
  }
  return kExitOk;
}

int run_erase(const CommonOptions& common, const EraseOptions& options) {
  const Output out(common.json);
  // The form only, as Registry::erase(): erasing an id that holds personal data removes it.
  if (Status s = Registry::validate_account_id_form(options.account); !s) {
    return out.error(s.code(), "account: " + s.message());
  }
  auto session = open_session(common, options.contact_keys);
  if (!session) return out.error(session.status());
  auto removed = (*session)->registry->erase(options.account, options.finish_interrupted
                                                                  ? EraseMode::kFinishInterrupted
                                                                  : EraseMode::kKeysPresent);
  if (!removed) return out.error(removed.status());
  const std::size_t count = removed->bindings_removed;
  if (out.json()) {
    nlohmann::json object = erasure_json(*removed);
    object["account"] = options.account;
    out.emit(object);
  } else if (removed->key_copies_remain) {
    std::cout << "erased        account " << options.account << ": " << count << " binding"
              << (count == 1 ? "" : "s") << " removed\n"
              << "warning       " << kErasureCopiesRemain << " (copies remain)\n";
  } else {
    std::cout << "erased        account " << options.account << ": " << count << " binding"
              << (count == 1 ? "" : "s")
              << " removed; any sealed contact's data key is destroyed, so backups of the "
                 "database cannot open it either\n";
  }
  return kExitOk;
}

int run_contact(const CommonOptions& common, const ContactOptions& options) {
  const Output out(common.json);
  if (Status s = Registry::validate_account_id(options.account); !s) {
    return out.error(s.code(), "account: " + s.message());
  }
  const std::optional<SecurityPurpose> purpose = security_purpose_from_name(options.purpose);
  if (!purpose) {
    return out.error(ErrorCode::kNotASecurityPurpose,
                     "--purpose: a sealed contact is read only for recovery or security_notice");
  }
  auto policy = LinkPolicy::by_name(options.policy);
  if (!policy) return out.error(policy.code(), "--policy: " + policy.status().message());
  auto session = open_session(common, options.contact_keys, std::move(policy).value());
  if (!session) return out.error(session.status());
  auto contact = (*session)->registry->contact(options.account, *purpose);
  if (!contact) return out.error(contact.status());
  if (out.json()) {
    out.emit({{"account", options.account},
              {"purpose", security_purpose_name(*purpose)},
              {"channel", channel_name(contact->channel())},
              {"masked", contact->masked()}});
  } else {
    std::cout << "contact       " << contact->masked() << " (" << channel_name(contact->channel())
              << "), opened for " << security_purpose_name(*purpose) << '\n'
              << "              the full contact goes only to a sender, through the library\n";
  }
  return kExitOk;
}

}  // namespace veribind::cli
