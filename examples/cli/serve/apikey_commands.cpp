// `veribind apikey create | revoke | list`: the server's API keys file. Only create needs the
// master key (it tags the new key's secret); revoke and list read and write ids and dates only.
#include <iostream>

#include "cli.hpp"
#include "serve/api_keys.hpp"

namespace veribind::cli {

int run_apikey_create(const CommonOptions& common, const ApiKeyOptions& options) {
  const Output output(common.json);
  auto scope = serve::parse_scope(options.scope);
  if (!scope) return output.error(scope.status());
  auto ring = load_key(common.key_file);
  if (!ring) return output.error(ring.status());
  const SystemClock clock;
  serve::ApiKeyInfo info;
  auto key = serve::ApiKeyFile::create(options.api_keys, *ring, *scope, clock, &info);
  if (!key) return output.error(key.status());
  // Written straight from the SecretText, so that the key is copied into no other buffer. Ids,
  // scope names and the key are [0-9a-zA-Z_-] only: nothing needs JSON escaping.
  if (output.json()) {
    std::cout << R"({"id":")" << info.id << R"(","key":")" << key->reveal() << R"(","scope":")"
              << serve::scope_name(info.scope) << "\"}\n";
  } else {
    std::cout << key->reveal() << '\n'
              << "This key is shown only this once: store it now. Its id is " << info.id
              << " (scope " << serve::scope_name(info.scope) << ").\n";
  }
  std::cout.flush();
  return std::cout ? kExitOk : kExitSystem;
}

int run_apikey_revoke(const CommonOptions& common, const ApiKeyOptions& options) {
  const Output output(common.json);
  const SystemClock clock;
  if (Status s = serve::ApiKeyFile::revoke(options.api_keys, options.id, clock); !s) {
    return output.error(s);
  }
  if (output.json()) {
    output.emit({{"id", options.id}, {"revoked", true}});
  } else {
    std::cout << "revoked\n";
  }
  return kExitOk;
}

int run_apikey_list(const CommonOptions& common, const ApiKeyOptions& options) {
  const Output output(common.json);
  auto keys = serve::ApiKeyFile::list(options.api_keys);
  if (!keys) return output.error(keys.status());
  if (output.json()) {
    nlohmann::json list = nlohmann::json::array();
    for (const serve::ApiKeyInfo& k : *keys) {
      list.push_back({{"id", k.id},
                      {"scope", std::string(serve::scope_name(k.scope))},
                      {"created", iso8601_utc(k.created_at)},
                      {"revoked", k.revoked_at ? nlohmann::json(iso8601_utc(*k.revoked_at))
                                               : nlohmann::json(nullptr)}});
    }
    output.emit({{"keys", list}});
    return kExitOk;
  }
  if (keys->empty()) std::cout << "no API keys in " << options.api_keys << '\n';
  for (const serve::ApiKeyInfo& k : *keys) {
    std::cout << k.id << "  " << serve::scope_name(k.scope) << "  created "
              << iso8601_utc(k.created_at) << "  "
              << (k.revoked_at ? "revoked " + iso8601_utc(*k.revoked_at) : std::string("active"))
              << '\n';
  }
  return kExitOk;
}

}  // namespace veribind::cli
