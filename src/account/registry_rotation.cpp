// Registry: moving bindings and data keys to the current key version.
#include "internal/contact_seal.hpp"
#include "veribind/registry.hpp"

namespace veribind {

Result<bool> Registry::move_binding(const BindingRecord& binding, const BlindIndex& to) {
  if (binding.sealed_contact.empty()) {
    return accounts_->reindex_binding(binding.account_id, binding.channel, binding.index, to, {});
  }
  auto key = unwrap_contact_key(binding);
  if (!key) return key.status();
  const std::optional<DataKeyId> id = internal::sealed_key_id(binding.sealed_contact);
  auto plain = internal::open_contact(*key, {binding.account_id, binding.channel, binding.index},
                                      binding.sealed_contact);
  if (!plain) return plain.status();
  // The same data key, a new nonce, the new binding's associated data.
  const internal::DataKey data_key{*id, std::move(key).value()};
  const std::string_view text(reinterpret_cast<const char*>(plain->reveal().data()), plain->size());
  const std::vector<std::uint8_t> resealed =
      internal::seal_contact(data_key, {binding.account_id, binding.channel, to}, text);
  return accounts_->reindex_binding(binding.account_id, binding.channel, binding.index, to,
                                    resealed);
}

Result<std::size_t> Registry::refresh(const Identifier& identifier, VerifiedIdentifier verified) {
  if (verified.spent()) {
    return Status(ErrorCode::kVerificationSpent, "this verification was already used");
  }
  if (verified.channel() != policy_.channel) {
    return Status(ErrorCode::kWrongChannel, "the " + policy_.name + " policy binds " +
                                                std::string(channel_name(policy_.channel)) +
                                                " identifiers only");
  }
  if (Status s = matches(identifier, verified.index()); !s) return s;
  auto canonical = canonical_for_policy(identifier);
  if (!canonical) return canonical.status();
  const BlindIndex to = current().compute(*canonical);
  std::size_t moved = 0;
  for (const BlindIndexer& indexer : indexers_) {
    if (indexer.key_version() == current().key_version()) continue;
    const BlindIndex from = indexer.compute(*canonical);
    auto accounts = accounts_->find_accounts(from);
    if (!accounts) return accounts.status();
    for (const std::string& account : *accounts) {
      auto bindings = accounts_->bindings_of_account(account);
      if (!bindings) return bindings.status();
      for (const BindingRecord& binding : *bindings) {
        if (binding.channel != policy_.channel || binding.index != from) continue;
        auto done = move_binding(binding, to);
        if (!done) return done.status();
        moved += *done ? 1 : 0;
      }
    }
  }
  return moved;
}

Result<RotationReport> Registry::rotate(std::size_t batch) {
  if (batch == 0) return Status(ErrorCode::kInvalidArgument, "batch must be at least 1");
  RotationReport report;
  const std::uint32_t now_version = current().key_version();
  // 1. Data keys: wrapped again under the current version (orphans included, so that nothing is
  //    left under an old version). The data key itself, and so every ciphertext, is unchanged.
  if (contact_keys_ != nullptr) {
    const SecretBytes* new_kek = kek_for(now_version);
    for (const auto& [version, kek] : keks_) {
      if (version == now_version) continue;
      std::optional<DataKeyId> after;
      while (true) {
        auto keys = contact_keys_->with_kek_version(version, after, batch);
        if (!keys) return keys.status();
        for (const WrappedDataKey& old : *keys) {
          auto data_key = internal::unwrap_data_key(old, kek);
          if (!data_key) return data_key.status();
          const internal::DataKey key{old.key_id, std::move(data_key).value()};
          auto done =
              contact_keys_->rewrap(internal::wrap_data_key(key, *new_kek, now_version), version);
          if (!done) return done.status();
          report.data_keys_rewrapped += *done ? 1 : 0;
        }
        if (keys->size() < batch) break;
        after = keys->back().key_id;
      }
    }
  }
  // 2. Sealed bindings: re-indexed from their opened contact. Unsealed ones are counted.
  for (const BlindIndexer& indexer : indexers_) {
    if (indexer.key_version() == now_version) continue;
    BindingCursor after;
    while (true) {
      auto bindings = accounts_->bindings_with_key_version(indexer.key_version(), after, batch);
      if (!bindings) return bindings.status();
      for (const BindingRecord& binding : *bindings) {
        if (binding.sealed_contact.empty()) {
          ++report.awaiting_verification;
          continue;
        }
        auto plain = open_sealed(binding);
        if (!plain && plain.code() == ErrorCode::kKeyUnavailable) {
          ++report.sealed_unreadable;  // its key was erased or retired: nothing can move it
          continue;
        }
        if (!plain) return plain.status();
        const std::string_view text(reinterpret_cast<const char*>(plain->reveal().data()),
                                    plain->size());
        const BlindIndex to = current().compute(binding.channel, text);
        auto done = move_binding(binding, to);
        if (!done) return done.status();
        report.sealed_reindexed += *done ? 1 : 0;
      }
      if (bindings->size() < batch) break;
      after = {bindings->back().account_id, bindings->back().channel};
    }
  }
  return report;
}

}  // namespace veribind
