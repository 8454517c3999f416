// veribind.toml, read with toml++ and checked key by key (config.hpp states the rules).
#include "config.hpp"

#include <toml++/toml.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

#include "cli.hpp"  // is_postgres_url
#include "serve/client_address.hpp"
#include "serve/http_server.hpp"

namespace veribind::cli {
namespace {

namespace fs = std::filesystem;

// Keys that hold a secret when typed inline; the message points to the *_file key instead.
const std::set<std::string, std::less<>> kInlineSecrets = {"password", "secret",  "auth_token",
                                                           "token",    "api_key", "key"};

// One table of the file. Each read marks its key as known; finish() refuses the keys that no
// read asked for. The first problem found is kept (with its line) and later reads do nothing.
class Section {
 public:
  Section(const toml::table& table, std::string name, const std::string& file, Status& error)
      : table_(table), name_(std::move(name)), file_(file), error_(error) {}

  [[nodiscard]] int line() const { return static_cast<int>(table_.source().begin.line); }
  [[nodiscard]] bool has(std::string_view key) const { return table_.contains(key); }

  void fail_at(const toml::node* node, const std::string& what) {
    if (!error_.is_ok()) return;
    const int at = node != nullptr ? static_cast<int>(node->source().begin.line) : line();
    error_ = Status(ErrorCode::kConfigFileInvalid,
                    file_ + ":" + std::to_string(at) + ": [" + name_ + "] " + what);
  }

  void string(std::string_view key, std::string& out) {
    const toml::node* node = take(key);
    if (node == nullptr) return;
    if (const auto* s = node->as_string()) {
      out = s->get();
    } else {
      fail_at(node, std::string(key) + " must be a string");
    }
  }
  void string(std::string_view key, std::optional<std::string>& out) {
    std::string value;
    if (!has(key)) return;
    string(key, value);
    out = std::move(value);
  }
  // A file path: relative paths are taken from the configuration file's directory.
  void path(std::string_view key, std::string& out, const fs::path& base) {
    std::string value;
    const bool given = has(key);
    string(key, value);
    if (!given || !error_.is_ok()) return;
    if (value.empty()) return fail_at(table_.get(key), std::string(key) + " must not be empty");
    out = resolve(value, base);
  }
  void path(std::string_view key, std::optional<std::string>& out, const fs::path& base) {
    if (!has(key)) return;
    std::string value;
    path(key, value, base);
    out = std::move(value);
  }
  void boolean(std::string_view key, bool& out) {
    const toml::node* node = take(key);
    if (node == nullptr) return;
    if (const auto* b = node->as_boolean()) {
      out = b->get();
    } else {
      fail_at(node, std::string(key) + " must be true or false");
    }
  }
  template <typename Int>
  void integer(std::string_view key, Int& out, std::int64_t min, std::int64_t max) {
    const toml::node* node = take(key);
    if (node == nullptr) return;
    const auto* i = node->as_integer();
    if (i == nullptr) return fail_at(node, std::string(key) + " must be an integer");
    const std::int64_t v = i->get();
    if (v < min || v > max) {
      return fail_at(node, std::string(key) + " must be in " + std::to_string(min) + ".." +
                               std::to_string(max));
    }
    out = static_cast<Int>(v);
  }
  template <typename Duration>
  void duration(std::string_view key, Duration& out, std::int64_t min, std::int64_t max) {
    std::int64_t count = out.count();
    integer(key, count, min, max);
    out = Duration(count);
  }
  void strings(std::string_view key, std::vector<std::string>& out) {
    const toml::node* node = take(key);
    if (node == nullptr) return;
    const auto* array = node->as_array();
    if (array == nullptr) return fail_at(node, std::string(key) + " must be an array of strings");
    out.clear();
    for (const toml::node& element : *array) {
      const auto* s = element.as_string();
      if (s == nullptr) return fail_at(&element, std::string(key) + " must hold only strings");
      out.push_back(s->get());
    }
  }
  // A sub-table; nullptr (and a problem reported) if the key holds something else.
  const toml::table* table(std::string_view key) {
    const toml::node* node = take(key);
    if (node == nullptr) return nullptr;
    if (const auto* t = node->as_table()) return t;
    fail_at(node, std::string(key) + " must be a table");
    return nullptr;
  }
  const toml::array* array(std::string_view key) {
    const toml::node* node = take(key);
    if (node == nullptr) return nullptr;
    if (const auto* a = node->as_array()) return a;
    fail_at(node, std::string(key) + " must be an array of tables ([[...]])");
    return nullptr;
  }
  // Marks a key as read without reading it (the caller reads it another way).
  const toml::node* take(std::string_view key) {
    known_.emplace(key);
    return table_.get(key);
  }

  void finish() {
    for (const auto& [key, node] : table_) {
      if (known_.count(key.str()) != 0) continue;
      if (kInlineSecrets.count(key.str()) != 0) {
        return fail_at(&node, "secrets are never inline: use " + std::string(key.str()) +
                                  "_file, a path to a file that holds it");
      }
      return fail_at(&node, "unknown key \"" + std::string(key.str()) + "\"");
    }
  }

  [[nodiscard]] static std::string resolve(const std::string& value, const fs::path& base) {
    const fs::path p(value);
    return p.is_absolute() ? value : (base / p).lexically_normal().string();
  }

 private:
  const toml::table& table_;
  std::string name_;
  const std::string& file_;
  Status& error_;
  std::set<std::string, std::less<>> known_;
};

std::optional<PhoneType> phone_type_from_name(std::string_view name) {
  for (int t = 0; t <= static_cast<int>(PhoneType::kUnknown); ++t) {
    const auto type = static_cast<PhoneType>(t);
    if (phone_type_name(type) == name) return type;
  }
  return std::nullopt;
}

void read_store(Section& s, FileConfig& config, const fs::path& base) {
  // A PostgreSQL URL is not a path: it is kept as written, but never with a password in it (the
  // file would then hold a secret inline: libpq's passfile= or PGPASSFILE names a file).
  if (s.has("db")) {
    std::string db;
    s.string("db", db);
    if (db.empty()) return s.fail_at(s.take("db"), "db must not be empty");
    if (is_postgres_url(db)) {
      const std::size_t authority = db.find("://") + 3;
      const std::size_t at = db.find('@', authority);
      const std::size_t colon = db.find(':', authority);
      const bool password_in_query = db.find("password=") != std::string::npos;
      if ((at != std::string::npos && colon < at) || password_in_query) {
        return s.fail_at(s.take("db"),
                         "secrets are never inline: a password goes in a file (passfile= in the "
                         "URL, or PGPASSFILE)");
      }
      config.db = db;
    } else if (db == "memory:") {  // serve's MemoryStore: a name, not a path
      config.db = db;
    } else {
      config.db = Section::resolve(db, base);
    }
  }
  s.path("key_file", config.key_file, base);
  s.path("contact_keys", config.contact_keys, base);
  s.finish();
}

void read_verifier(Section& s, VerifierConfig& v) {
  s.integer("code_length", v.code_length, 1, 32);
  s.boolean("allow_weak_codes", v.allow_weak_codes);
  s.duration("code_ttl_seconds", v.code_ttl, 1, 86400);
  s.integer("max_checks", v.max_checks, 1, 1000);
  s.duration("resend_cooldown_seconds", v.resend_cooldown, 0, 86400);
  s.integer("max_sends_per_hour", v.max_sends_per_hour, 1, 1000000);
  s.integer("max_failed_checks", v.max_failed_checks, 1, 1000000);
  s.duration("failure_window_seconds", v.failure_window, 1, 31 * 86400);
  if (const toml::node* node = s.take("sms_phone_types")) {
    const auto* array = node->as_array();
    if (array == nullptr) return s.fail_at(node, "sms_phone_types must be an array of strings");
    PhoneTypeSet types;
    for (const toml::node& element : *array) {
      const auto* name = element.as_string();
      const std::optional<PhoneType> type =
          name != nullptr ? phone_type_from_name(name->get()) : std::nullopt;
      if (!type) {
        return s.fail_at(&element,
                         "sms_phone_types: expected names like \"MOBILE\", "
                         "\"FIXED_LINE_OR_MOBILE\"");
      }
      types = types.with(*type);
    }
    v.sms_phone_types = types;
  }
  s.strings("allowed_regions", v.allowed_regions);
  s.strings("denied_regions", v.denied_regions);
  s.integer("default_calling_code_budget", v.default_calling_code_budget, 0, 1'000'000'000);
  if (const toml::table* budgets = s.table("calling_code_budgets")) {
    for (const auto& [key, node] : *budgets) {
      int code = 0;
      const std::string name(key.str());
      const auto* value = node.as_integer();
      if (name.empty() || name.size() > 3 ||
          name.find_first_not_of("0123456789") != std::string::npos || value == nullptr ||
          value->get() < 0 || value->get() > 1'000'000'000) {
        return s.fail_at(&node, "calling_code_budgets: \"<calling code>\" = <sends per hour>");
      }
      code = std::stoi(name);
      v.calling_code_budgets[code] = static_cast<std::uint32_t>(value->get());
    }
  }
  s.integer("global_sends_per_hour", v.global_sends_per_hour, 0, 1'000'000'000);
  s.integer("client_starts_per_window", v.client_starts_per_window, 0, 1'000'000'000);
  s.integer("client_checks_per_window", v.client_checks_per_window, 0, 1'000'000'000);
  s.duration("client_window_seconds", v.client_window, 1, 86400);
  s.finish();
}

// Reads every key first and refuses unknown ones (an inline secret among them), then checks how
// the keys go together.
void read_provider(Section& s, ProviderSettings& p, bool email, const fs::path& base) {
  p.line = s.line();
  if (email) p.type = "smtp";
  s.string("type", p.type);
  s.string("name", p.name);
  s.string("url", p.url);
  s.path("ca_file", p.ca_file, base);
  s.duration("connect_timeout_ms", p.connect_timeout, 1, 600000);
  s.duration("response_timeout_ms", p.response_timeout, 1, 600000);
  s.duration("total_timeout_ms", p.total_timeout, 1, 600000);
  s.string("from", p.from);
  if (p.type == "smtp") {
    s.string("username", p.username);
    s.path("password_file", p.password_file, base);
    s.boolean("allow_plaintext", p.allow_plaintext);
  } else if (p.type == "webhook") {
    s.path("secret_file", p.secret_file, base);
  } else if (p.type == "twilio") {
    s.string("account_sid", p.account_sid);
    s.path("auth_token_file", p.auth_token_file, base);
    s.string("messaging_service_sid", p.messaging_service_sid);
  }
  if (email && p.type != "smtp") return s.fail_at(s.take("type"), "type must be \"smtp\"");
  if (!email && p.type != "webhook" && p.type != "twilio") {
    return s.fail_at(s.take("type"), "type must be \"webhook\" or \"twilio\"");
  }
  s.finish();
  if (p.name.empty()) p.name = p.type;
  if (p.type == "twilio" && p.url.empty()) p.url = "https://api.twilio.com";
  if (p.url.empty()) return s.fail_at(nullptr, "url is required");
  if (p.type == "smtp") {
    if (p.from.empty()) return s.fail_at(nullptr, "from is required");
    if (p.username.empty() != p.password_file.empty()) {
      return s.fail_at(nullptr, "username and password_file go together");
    }
  } else if (p.type == "webhook") {
    if (!p.from.empty()) return s.fail_at(s.take("from"), "a webhook has no from");
    if (p.secret_file.empty()) return s.fail_at(nullptr, "secret_file is required");
  } else {
    if (p.account_sid.empty() || p.auth_token_file.empty()) {
      return s.fail_at(nullptr, "account_sid and auth_token_file are required");
    }
    if (p.from.empty() == p.messaging_service_sid.empty()) {
      return s.fail_at(nullptr, "exactly one of from and messaging_service_sid");
    }
  }
}

// [delivery.email] or [delivery.sms], then its [[...fallback]] entries, in failover order.
void read_channel(const toml::table& table, const std::string& name, bool email,
                  const std::string& file, const fs::path& base, Status& error,
                  std::vector<ProviderSettings>& out) {
  Section s(table, name, file, error);
  const toml::array* fallbacks = s.array("fallback");
  ProviderSettings first;
  read_provider(s, first, email, base);
  out.push_back(std::move(first));
  if (fallbacks == nullptr) return;
  for (const toml::node& node : *fallbacks) {
    const auto* t = node.as_table();
    if (t == nullptr) return s.fail_at(&node, "fallback must be an array of tables");
    Section f(*t, name + ".fallback", file, error);
    ProviderSettings next;
    read_provider(f, next, email, base);
    out.push_back(std::move(next));
  }
}

void read_delivery(Section& s, DeliverySettings& d, const std::string& file, const fs::path& base,
                   Status& error) {
  s.integer("workers", d.workers, 1, 64);
  s.integer("queue_capacity", d.queue_capacity, 1, 1'000'000);
  s.duration("initial_backoff_ms", d.initial_backoff, 1, 3'600'000);
  s.duration("max_backoff_ms", d.max_backoff, 1, 3'600'000);
  s.integer("max_attempts", d.max_attempts, 1, 100);
  s.duration("wait_seconds", d.wait, 1, 3600);
  if (const toml::table* email = s.table("email")) {
    read_channel(*email, "delivery.email", true, file, base, error, d.email);
  }
  if (const toml::table* sms = s.table("sms")) {
    read_channel(*sms, "delivery.sms", false, file, base, error, d.sms);
  }
  if (d.initial_backoff > d.max_backoff) s.fail_at(nullptr, "initial_backoff_ms > max_backoff_ms");
  s.finish();
}

void read_templates(Section& s, TemplateFileSettings& t, const fs::path& base) {
  s.string("app_name", t.app_name);
  s.string("domain", t.domain);
  s.string("android_app_hash", t.android_app_hash);
  s.boolean("code_in_subject", t.code_in_subject);
  s.path("dir", t.dir, base);
  s.integer("max_sms_segments", t.max_sms_segments, 1, 10);
  if (t.app_name.empty() || t.app_name.size() > 64) {
    s.fail_at(s.take("app_name"), "app_name must be 1..64 bytes");
  }
  s.finish();
}

void read_server(Section& s, ServerFileSettings& server, const fs::path& base) {
  server.line = s.line();
  s.string("listen", server.listen);
  // The server's own parser, so that the file is refused for exactly what serve would refuse.
  if (s.has("listen") && !serve::ListenAddress::parse(server.listen)) {
    s.fail_at(s.take("listen"),
              "listen must be IPv4:port, [IPv6]:port or unix:/path (e.g. 127.0.0.1:8080)");
  }
  serve::ServerLimits& limits = server.limits;
  s.integer("threads", limits.threads, 1, 256);
  s.integer("max_connections", limits.max_connections, 1, 100000);
  s.integer("max_header_bytes", limits.header_bytes, 1024, 65536);
  s.integer("max_body_bytes", limits.body_bytes, 1024, 1048576);
  s.duration("header_timeout_ms", limits.header_timeout, 100, 600000);
  s.duration("body_timeout_ms", limits.body_timeout, 100, 600000);
  s.duration("write_timeout_ms", limits.write_timeout, 100, 600000);
  s.duration("idle_timeout_ms", limits.idle_timeout, 100, 600000);
  s.duration("drain_seconds", server.drain, 0, 600);
  s.path("api_keys", server.api_keys, base);
  if (s.has("trusted_proxies")) {
    s.strings("trusted_proxies", server.trusted_proxies);
    const toml::array* array = s.take("trusted_proxies")->as_array();
    for (std::size_t i = 0; i < server.trusted_proxies.size(); ++i) {
      // One entry at a time, so that the error names the element's own line: a long list is
      // usually one address a line.
      if (!serve::TrustedProxies::parse({server.trusted_proxies[i]})) {
        s.fail_at(array != nullptr ? array->get(i) : nullptr,
                  "trusted_proxies must hold IP addresses, CIDR blocks or \"unix\" (e.g. "
                  "\"10.0.0.0/8\")");
        break;
      }
    }
  }
  s.path("tls_cert_file", server.tls_cert_file, base);
  s.path("tls_key_file", server.tls_key_file, base);
  s.finish();
  if (server.tls_cert_file.empty() != server.tls_key_file.empty()) {
    s.fail_at(nullptr, "tls_cert_file and tls_key_file go together");
  }
}

}  // namespace

Result<FileConfig> load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kUnavailable, "cannot read the configuration file " + path);
  std::stringstream content;
  content << in.rdbuf();
  constexpr std::size_t kMaxBytes = 1 << 20;
  if (content.str().size() > kMaxBytes) {
    return Status(ErrorCode::kConfigFileInvalid, path + ": larger than 1 MiB");
  }

  toml::table root;
  try {
    root = toml::parse(content.str(), path);
  } catch (const toml::parse_error& e) {
    // toml++'s description names the syntax problem, not the value.
    return Status(
        ErrorCode::kConfigFileInvalid,
        path + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }

  FileConfig config;
  config.path = path;
  const fs::path base = fs::absolute(fs::path(path)).parent_path();
  Status error = Status::ok();
  Section top(root, "top level", path, error);
  if (const toml::table* t = top.table("store")) {
    Section s(*t, "store", path, error);
    read_store(s, config, base);
  }
  int verifier_line = 0;
  if (const toml::table* t = top.table("verifier")) {
    Section s(*t, "verifier", path, error);
    verifier_line = s.line();
    read_verifier(s, config.verifier);
  }
  if (const toml::table* t = top.table("policy")) {
    Section s(*t, "policy", path, error);
    s.string("link", config.policy);
    if (config.policy && !LinkPolicy::by_name(*config.policy)) {
      s.fail_at(s.take("link"), "link must be \"phone-linked\" or \"email-linked\"");
    }
    s.finish();
  }
  if (const toml::table* t = top.table("delivery")) {
    Section s(*t, "delivery", path, error);
    config.delivery.emplace();
    read_delivery(s, *config.delivery, path, base, error);
  }
  if (const toml::table* t = top.table("templates")) {
    Section s(*t, "templates", path, error);
    read_templates(s, config.templates, base);
  }
  if (const toml::table* t = top.table("server")) {
    Section s(*t, "server", path, error);
    config.server.emplace();
    read_server(s, *config.server, base);
  }
  top.finish();
  if (!error) return error;
  if (Status s = config.verifier.validate(); !s) {
    return Status(ErrorCode::kConfigFileInvalid,
                  path + ":" + std::to_string(verifier_line) + ": [verifier] " + s.message());
  }
  return config;
}

Result<std::optional<FileConfig>> find_config(const std::optional<std::string>& explicit_path) {
  std::string path;
  if (explicit_path) {
    path = *explicit_path;
  } else {
    std::error_code ec;
    if (!fs::exists("veribind.toml", ec)) return std::optional<FileConfig>{};
    path = "veribind.toml";
  }
  auto config = load_config_file(path);
  if (!config) return config.status();
  return std::optional<FileConfig>(std::move(config).value());
}

}  // namespace veribind::cli
