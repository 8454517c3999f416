// `veribind demo`: both linking policies end to end on a throwaway SQLite database, printing after
// every step what the database now holds, and finally searching its raw bytes for plaintext.
#include <sqlite3.h>
#include <stdlib.h>  // mkdtemp

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cli.hpp"
#include "veribind/stored_columns.hpp"

namespace veribind::cli {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPhoneTyped = "+92 300 1234567";
constexpr std::string_view kPhoneTypedAgain = "0300-1234567";  // the same number, national form
constexpr std::string_view kPhoneRegion = "PK";
constexpr std::string_view kEmailTyped = "Alice@Example.COM";
// What the raw-byte scan looks for, besides every code sent. The national digits also cover
// "03001234567" and "923001234567"; the email is searched without regard to case, which covers
// both the typed and the canonical spelling.
constexpr std::string_view kPhoneE164 = "+923001234567";
constexpr std::string_view kPhoneNationalDigits = "3001234567";
constexpr std::string_view kEmailLower = "alice@example.com";

constexpr std::size_t kShownHexChars = 16;
constexpr std::size_t kWrapColumn = 96;

// The system clock, plus the time the demo has skipped ahead (to get past a limit without
// waiting).
class DemoClock final : public Clock {
 public:
  [[nodiscard]] Timestamp now() const override { return SystemClock().now() + skipped_; }
  void skip(std::chrono::milliseconds by) { skipped_ += by; }

 private:
  std::chrono::milliseconds skipped_{0};
};

// Stands in for an SMS gateway or mail server: keeps the code in memory, where the demo can "type"
// it back, and says so on the narrative stream, or with --json as the JSON delivery line.
class CapturingSender final : public Sender {
 public:
  CapturingSender(std::ostream& out, bool json) : out_(&out), json_(json) {}
  Status send(const Delivery& delivery) override {
    codes_.emplace_back(delivery.code);
    if (json_) return JsonLineSender().send(delivery);
    *out_ << "      [demo sender] " << (delivery.channel == Channel::kPhone ? "SMS" : "email")
          << " to " << delivery.masked_destination << ": code " << delivery.code
          << "  (held in memory; nothing was sent)\n";
    return Status::ok();
  }
  [[nodiscard]] const std::string& last_code() const { return codes_.back(); }
  [[nodiscard]] const std::vector<std::string>& codes() const { return codes_; }

 private:
  std::ostream* out_;
  bool json_;
  std::vector<std::string> codes_;
};

std::string shorten_hex(const std::string& hex) {
  return hex.size() <= kShownHexChars ? hex : hex.substr(0, kShownHexChars) + "…";
}

std::string to_hex(const unsigned char* bytes, int size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (int i = 0; i < size; ++i) {
    hex.push_back(kDigits[bytes[i] >> 4]);
    hex.push_back(kDigits[bytes[i] & 0xf]);
  }
  return hex;
}

// What the store layer says the column holds (veribind/stored_columns.hpp); empty for a column
// it does not describe, which its test would have caught.
std::string_view stored_meaning(std::string_view table, std::string_view column) {
  for (const ColumnDescription& c : stored_columns()) {
    if (c.table == table && c.column == column) return c.meaning;
  }
  return {};
}

// `prefix` then `text`, broken at spaces into lines of at most kWrapColumn characters (a longer
// word stays whole), continuation lines starting with `indent`; ends with a newline.
std::string wrapped(std::string_view prefix, std::string_view text, std::string_view indent) {
  std::string out;
  std::string line(prefix);
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view word = text.substr(pos, end - pos);
    if (line.size() > indent.size() && line.size() + 1 + word.size() > kWrapColumn) {
      out += line + '\n';
      line = std::string(indent) + std::string(word);
    } else {
      line += (line.size() == prefix.size() ? "" : " ") + std::string(word);
    }
    pos = end + 1;
  }
  return out + line + '\n';
}

std::string format_value(sqlite3_stmt* row, int column, std::string_view name) {
  switch (sqlite3_column_type(row, column)) {
    case SQLITE_NULL: return "NULL";
    case SQLITE_INTEGER: {
      const sqlite3_int64 value = sqlite3_column_int64(row, column);
      // Millisecond timestamps read better as dates.
      const bool time_like = name.ends_with("_at") || name.find("expires") != name.npos ||
                             name.find("window") != name.npos;
      if (time_like && value > 100'000'000'000) {
        return iso8601_utc(Timestamp(std::chrono::milliseconds(value)));
      }
      return std::to_string(value);
    }
    case SQLITE_FLOAT: return std::to_string(sqlite3_column_double(row, column));
    case SQLITE_BLOB: {
      const auto* bytes = static_cast<const unsigned char*>(sqlite3_column_blob(row, column));
      const int size = sqlite3_column_bytes(row, column);
      return shorten_hex(to_hex(bytes, size)) + " (" + std::to_string(size) + " B)";
    }
    default: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(row, column));
      const std::string value(text, static_cast<std::size_t>(sqlite3_column_bytes(row, column)));
      return '"' + (value.size() > 40 ? value.substr(0, 40) + "…" : value) + '"';
    }
  }
}

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

Statement prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) return nullptr;
  return Statement(statement);
}

struct Context {
  std::ostream& out;
  std::string db_path;
  DemoClock& clock;
  Verifier& verifier;
  Registry& phone_registry;
  Registry& email_registry;
  CapturingSender& sender;
  std::set<std::string> explained_tables;
  nlohmann::json steps = nlohmann::json::array();
};

// Dumps every table of the database file through a second, read-only connection: what anyone
// who copies the file would see.
Status dump_store(Context& ctx) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(ctx.db_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  const std::unique_ptr<sqlite3, SqliteCloser> db(raw);
  if (rc != SQLITE_OK) return {ErrorCode::kStoreError, "cannot open the demo database read-only"};
  Statement tables = prepare(db.get(),
                             "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
                             "LIKE 'sqlite_%' ORDER BY name");
  if (!tables) return {ErrorCode::kStoreError, "cannot list the tables of the demo database"};

  ctx.out << "   stored now (the database file, opened read-only):\n";
  while (sqlite3_step(tables.get()) == SQLITE_ROW) {
    const std::string table = reinterpret_cast<const char*>(sqlite3_column_text(tables.get(), 0));
    Statement rows = prepare(db.get(), "SELECT * FROM \"" + table + "\"");
    if (!rows) return {ErrorCode::kStoreError, "cannot read a table of the demo database"};
    const int columns = sqlite3_column_count(rows.get());
    std::vector<std::string> lines;
    while (sqlite3_step(rows.get()) == SQLITE_ROW) {
      std::string line = "       ";
      std::size_t line_start = 0;
      for (int c = 0; c < columns; ++c) {
        const std::string name = sqlite3_column_name(rows.get(), c);
        const std::string field = name + "=" + format_value(rows.get(), c, name);
        if (line.size() - line_start + field.size() > kWrapColumn) {
          line += "\n         ";
          line_start = line.size() - 9;
        }
        line += ' ' + field;
      }
      lines.push_back(std::move(line));
    }
    ctx.out << "     " << table << " (" << lines.size() << (lines.size() == 1 ? " row" : " rows")
            << ")\n";
    for (const std::string& line : lines) ctx.out << line << '\n';
    // The first time a table appears, say what each of its columns holds.
    if (!ctx.explained_tables.insert(table).second) continue;
    for (int c = 0; c < columns; ++c) {
      const std::string name = sqlite3_column_name(rows.get(), c);
      const std::string_view meaning = stored_meaning(table, name);
      ctx.out << wrapped(
          "         · " + name + ": ",
          meaning.empty() ? "(not described in veribind/stored_columns.hpp)" : meaning,
          "             ");
    }
  }
  ctx.out << '\n';
  return Status::ok();
}

struct Sent {
  Challenge challenge;
  std::string code;
};

Result<Sent> send_code(Context& ctx, const Identifier& identifier, Purpose purpose) {
  ctx.out << "   start       a " << purpose_name(purpose) << " code for " << identifier.masked()
          << '\n';
  auto challenge = ctx.verifier.start(identifier, purpose);
  if (!challenge) return challenge.status();
  if (!challenge->sent()) {
    return Status(ErrorCode::kInternal, "demo: start refused by the limit " +
                                            std::string(limit_name(challenge->refusal.limit)));
  }
  ctx.out << "               challenge " << shorten_hex(challenge->id) << ", expires "
          << iso8601_utc(challenge->expires_at) << '\n';
  return Sent{std::move(challenge).value(), ctx.sender.last_code()};
}

// Checks for the purpose the code was sent for, as the handler of that purpose would.
Result<CheckResult> check_code(Context& ctx, const Challenge& challenge, const std::string& code) {
  auto result = ctx.verifier.check(challenge.id, code, challenge.purpose);
  if (!result) return result.status();
  ctx.out << "   check       code " << code << " -> " << check_outcome_name(result->outcome);
  if (result->outcome == CheckOutcome::kWrongCode) {
    ctx.out << " (" << result->attempts_left << " attempts left)";
  }
  ctx.out << "\n               the end user is told \"" << public_answer(result->outcome) << "\"\n";
  return result;
}

Status unexpected(int step, std::string_view what) {
  return {ErrorCode::kInternal, "demo step " + std::to_string(step) + ": " + std::string(what)};
}

// Sends, checks and links: a whole signup. The link's code is the result (kOk when bound;
// kAlreadyBound and friends are outcomes the caller inspects); other failures are errors.
Result<ErrorCode> signup(Context& ctx, int step, const Identifier& identifier, Registry& registry,
                         const std::string& account, std::string* index_hex,
                         Sent* sent_out = nullptr) {
  auto sent = send_code(ctx, identifier, Purpose::kSignup);
  if (!sent) return sent.status();
  if (sent_out != nullptr) *sent_out = *sent;
  auto result = check_code(ctx, sent->challenge, sent->code);
  if (!result) return result.status();
  if (result->outcome != CheckOutcome::kVerified) return unexpected(step, "the code was refused");
  *index_hex = result->verified->index().hex();
  const Status linked = registry.link(account, std::move(*result->verified));
  ctx.out << "   link        " << account << " -> " << channel_name(identifier.channel())
          << " blind index " << shorten_hex(*index_hex) << " (" << registry.policy().name
          << "): " << (linked ? "bound" : "refused, " + std::string(error_code_name(linked.code())))
          << '\n';
  return linked.code();
}

Status step_phone_signup(Context& ctx, std::string* index_hex, Sent* first) {
  ctx.out << "1. Phone-linked signup\n"
          << "   A person types \"" << kPhoneTyped << "\". It is parsed to canonical E.164 in\n"
          << "   memory, only for the duration of the call, and never written anywhere.\n";
  auto phone = PhoneNumber::parse(kPhoneTyped);
  if (!phone) return phone.status();
  ctx.out << "   parsed      " << phone->e164() << " (region " << phone->region() << ", "
          << phone_type_name(phone->type()) << ")\n";
  // `first` is kept for step 4, which types this code again.
  auto linked = signup(ctx, 1, Identifier(std::move(phone).value()), ctx.phone_registry,
                       "acct-phone-1", index_hex, first);
  if (!linked) return linked.status();
  if (*linked != ErrorCode::kOk) return unexpected(1, "the first account was not bound");
  ctx.out << "   The successful check deleted its challenge: what remains is the binding and a\n"
          << "   send counter (5 codes per identifier per hour).\n";
  ctx.steps.push_back({{"step", 1}, {"title", "phone-linked signup"}, {"outcome", "bound"}});
  return dump_store(ctx);
}

Status step_email_signup(Context& ctx) {
  ctx.out << "2. Email-linked signup\n"
          << "   A person types \"" << kEmailTyped << "\". The address is lower-cased: mail\n"
          << "   providers ignore case, so one mailbox must not bind once per capitalisation.\n";
  auto email = EmailAddress::parse(kEmailTyped);
  if (!email) return email.status();
  ctx.out << "   parsed      " << email->canonical() << '\n';
  std::string index_hex;
  auto linked = signup(ctx, 2, Identifier(std::move(email).value()), ctx.email_registry,
                       "acct-email-1", &index_hex);
  if (!linked) return linked.status();
  if (*linked != ErrorCode::kOk) return unexpected(2, "the email account was not bound");
  ctx.steps.push_back({{"step", 2}, {"title", "email-linked signup"}, {"outcome", "bound"}});
  return dump_store(ctx);
}

Status step_wrong_code(Context& ctx) {
  ctx.out << "3. A wrong code\n"
          << "   A login code is asked for the email address moments after step 2's code: the\n"
          << "   resend cooldown (30 s) refuses it. Then it is sent, and the person mistypes\n"
          << "   it. The attempt is charged before the comparison, so guesses are limited (5\n"
          << "   per challenge); the public answer is the same as for any other failure.\n";
  auto email = EmailAddress::parse(kEmailTyped);
  if (!email) return email.status();
  const Identifier identifier(std::move(email).value());
  auto early = ctx.verifier.start(identifier, Purpose::kLogin);
  if (!early) return early.status();
  if (early->refusal.limit != Limit::kResendCooldown) {
    return unexpected(3, "a second code within the resend cooldown was not refused");
  }
  ctx.out << "   start       refused: " << limit_name(early->refusal.limit) << " until "
          << iso8601_utc(early->refusal.retry_at) << " (for the backend's log)\n"
          << "               the end user is told \"" << public_answer(*early)
          << "\", as for any start: the answer\n"
          << "               never says whether an address is bound, limited or blocked\n"
          << "   (the demo's clock skips 30 s)\n";
  ctx.clock.skip(std::chrono::seconds(30));
  auto sent = send_code(ctx, identifier, Purpose::kLogin);
  if (!sent) return sent.status();
  std::string wrong = sent->code;
  wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
  auto result = check_code(ctx, sent->challenge, wrong);
  if (!result) return result.status();
  if (result->outcome != CheckOutcome::kWrongCode) return unexpected(3, "a wrong code passed");
  ctx.out
      << "   The challenge stays live with one attempt charged until it expires or is purged.\n";
  ctx.steps.push_back({{"step", 3},
                       {"title", "wrong code"},
                       {"outcome", check_outcome_name(result->outcome)},
                       {"attempts_left", result->attempts_left}});
  return dump_store(ctx);
}

Status step_reused_code(Context& ctx, const Sent& first) {
  ctx.out << "4. A reused code\n"
          << "   Step 1's code is typed again. A successful check consumed its challenge, so\n"
          << "   the same code cannot verify twice (no replay).\n";
  auto result = check_code(ctx, first.challenge, first.code);
  if (!result) return result.status();
  if (result->outcome != CheckOutcome::kUnknown) return unexpected(4, "a used code was accepted");
  ctx.steps.push_back(
      {{"step", 4}, {"title", "reused code"}, {"outcome", check_outcome_name(result->outcome)}});
  return dump_store(ctx);
}

Status step_already_bound(Context& ctx, const std::string& first_index_hex) {
  ctx.out << "5. An already-bound number\n"
          << "   A second account signs up with \"" << kPhoneTypedAgain << "\" (region "
          << kPhoneRegion << "): another\n"
          << "   spelling of step 1's number, so the same blind index, and the phone-linked\n"
          << "   policy allows one account per number.\n";
  auto phone = PhoneNumber::parse(kPhoneTypedAgain, kPhoneRegion);
  if (!phone) return phone.status();
  ctx.out << "   parsed      " << phone->e164() << " (region " << phone->region() << ", "
          << phone_type_name(phone->type()) << ")\n";
  const Identifier identifier(std::move(phone).value());
  std::string index_hex;
  auto linked = signup(ctx, 5, identifier, ctx.phone_registry, "acct-phone-2", &index_hex);
  if (!linked) return linked.status();
  if (*linked != ErrorCode::kAlreadyBound) {
    return unexpected(5, "a second account was bound to the same number");
  }
  if (index_hex != first_index_hex) return unexpected(5, "two spellings gave different indexes");
  auto accounts = ctx.phone_registry.find(identifier);
  if (!accounts) return accounts.status();
  ctx.out << "   The verification succeeded, but the binding was refused: `veribind link` exits 3\n"
          << "   (refused by policy). The number stays bound to "
          << (accounts->empty() ? std::string("nobody") : accounts->front()) << ".\n";
  ctx.steps.push_back(
      {{"step", 5}, {"title", "already-bound number"}, {"outcome", error_code_name(*linked)}});
  return dump_store(ctx);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Searches the database file and its WAL (and shared-memory index) for every plaintext the demo
// handled. Adds what it finds, by description and never by value, to `found`.
void scan_files(Context& ctx, std::set<std::string>& found, std::string& scanned) {
  struct Needle {
    std::string description;
    std::string bytes;  // lower case: the haystack is lower-cased too
  };
  std::vector<Needle> needles = {
      {"the phone number (E.164)", std::string(kPhoneE164)},
      {"the phone number (national digits)", std::string(kPhoneNationalDigits)},
      {"the email address", std::string(kEmailLower)},
  };
  const std::vector<std::string>& codes = ctx.sender.codes();
  for (std::size_t i = 0; i < codes.size(); ++i) {
    needles.push_back({"code #" + std::to_string(i + 1), codes[i]});
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const fs::path path = ctx.db_path + suffix;
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    const std::string haystack = lower(read_file(path));
    scanned += (scanned.empty() ? "" : ", ") + path.filename().string() + " (" +
               std::to_string(haystack.size()) + " B)";
    for (const Needle& needle : needles) {
      if (haystack.find(needle.bytes) != std::string::npos) {
        found.insert(needle.description + " in " + path.filename().string());
      }
    }
  }
}

// The demo's files: a fresh temporary directory unless the user named a database. The
// temporary directory is removed on every way out, unless the user asked to keep it.
struct Workspace {
  fs::path dir;  // empty when the user chose the paths
  std::string db;
  std::string key;
  bool keep = false;

  Workspace(fs::path d, std::string db_path, std::string key_path, bool keep_files)
      : dir(std::move(d)), db(std::move(db_path)), key(std::move(key_path)), keep(keep_files) {}
  Workspace(Workspace&& other) noexcept
      : dir(std::exchange(other.dir, {})),
        db(std::move(other.db)),
        key(std::move(other.key)),
        keep(other.keep) {}
  Workspace& operator=(Workspace&&) = delete;
  ~Workspace() {
    if (dir.empty() || keep) return;
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

Result<Workspace> prepare_workspace(const CommonOptions& common, const DemoOptions& options) {
  // The demo's point is the bytes at rest: it dumps the database file and its write-ahead log,
  // and searches them for plaintext. A PostgreSQL server keeps its bytes where the CLI cannot
  // read them, so the demo stays on a file; the other commands take either.
  if (options.db_given && is_postgres_url(common.db)) {
    return Status(ErrorCode::kInvalidArgument,
                  "the demo runs on SQLite only (it shows the bytes of the database file); omit "
                  "--db or name a new file");
  }
  if (options.db_given) {
    std::error_code ec;
    if (fs::exists(common.db, ec)) {
      return Status(ErrorCode::kInvalidArgument, "the demo needs a fresh database, and " +
                                                     common.db +
                                                     " exists; name a new path or omit --db");
    }
    if (!fs::exists(common.key_file, ec)) {
      if (Status s = KeyRing::generate_key_file(common.key_file); !s) return s;
    }
    return Workspace({}, common.db, common.key_file, true);
  }
  std::string pattern = (fs::temp_directory_path() / "veribind-demo-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return Status(ErrorCode::kInternal, "cannot create a temporary directory for the demo");
  }
  Workspace workspace(pattern, (fs::path(pattern) / "demo.db").string(),
                      (fs::path(pattern) / "demo.key").string(), options.keep);
  if (Status s = KeyRing::generate_key_file(workspace.key); !s) return s;
  return workspace;
}

// Steps 1-5 and the scan. Returns the findings of the scan, or the error that stopped the demo.
// `stores` is closed before the second scan; ctx's verifier and registries must not be used after.
Result<std::set<std::string>> run_steps(Context& ctx, Stores& stores) {
  std::string first_index_hex;
  Sent first;
  if (Status s = step_phone_signup(ctx, &first_index_hex, &first); !s) return s;
  if (Status s = step_email_signup(ctx); !s) return s;
  if (Status s = step_wrong_code(ctx); !s) return s;
  if (Status s = step_reused_code(ctx, first); !s) return s;
  if (Status s = step_already_bound(ctx, first_index_hex); !s) return s;

  ctx.out << "6. The raw bytes\n"
          << "   Every byte of the database file and its write-ahead log is searched for the\n"
          << "   number (E.164 and national digits), the email (any case) and all "
          << ctx.sender.codes().size() << " codes sent,\n"
          << "   once while the database is open and once after it is closed (checkpointed).\n";
  std::set<std::string> found;
  std::string scanned_open;
  std::string scanned_closed;
  scan_files(ctx, found, scanned_open);
  stores.close();  // closing checkpoints the WAL into the main file: scan that too
  scan_files(ctx, found, scanned_closed);
  ctx.out << "   while open  " << scanned_open << '\n'
          << "   after close " << scanned_closed << '\n';
  return found;
}

}  // namespace

int run_demo(const CommonOptions& common, const DemoOptions& options) {
  const Output out(common.json);
  // With --json, stdout carries only the final object; the walk-through goes to stderr.
  std::ostream& narrative = common.json ? std::cerr : std::cout;
  auto workspace = prepare_workspace(common, options);
  if (!workspace) return out.error(workspace.status());

  narrative << "veribind demo: two signup policies, end to end, on a throwaway SQLite database\n"
            << "   database    " << workspace->db << '\n'
            << "   key         " << workspace->key << '\n'
            << "               (32 random bytes, mode 0600; never stored in the database)\n\n";
  // Declared after the workspace, so destroyed (closed) before its directory is removed.
  auto ring = KeyRing::load_key_file(workspace->key);
  if (!ring) return out.error(ring.status());
  CommonOptions files = common;
  files.db = workspace->db;
  auto stores = open_stores(files, OpenMode::kCreate);
  if (!stores) return out.error(stores.status());
  DemoClock clock;
  CapturingSender sender(narrative, common.json);
  auto verifier = Verifier::create(VerifierConfig{}, *ring, stores->verification(), sender, clock);
  if (!verifier) return out.error(verifier.status());
  auto phone_registry = stores->registry(LinkPolicy::phone_linked(), *ring, clock);
  if (!phone_registry) return out.error(phone_registry.status());
  auto email_registry = stores->registry(LinkPolicy::email_linked(), *ring, clock);
  if (!email_registry) return out.error(email_registry.status());

  Context ctx{narrative,
              workspace->db,
              clock,
              *verifier,
              *phone_registry,
              *email_registry,
              sender,
              /*explained_tables=*/{},
              /*steps=*/nlohmann::json::array()};
  auto found = run_steps(ctx, *stores);
  if (!found) return out.error(found.status());

  if (found->empty()) {
    narrative << "   plaintext found: none\n\n"
              << "A copy of this database gives an attacker account ids, timestamps and\n"
              << "random-looking indexes. Whoever also holds the key can test guesses, and a\n"
              << "country's mobile numbers are few enough to enumerate: see SECURITY.md.\n";
  } else {
    narrative << "   plaintext found:\n";
    for (const std::string& what : *found) narrative << "     " << what << '\n';
  }
  if (!workspace->dir.empty() && options.keep) {
    narrative << "\nkept " << workspace->dir.string() << " (try: sqlite3 " << workspace->db
              << " .dump)\n";
  }
  if (out.json()) {
    out.emit({{"demo",
               {{"steps", ctx.steps},
                {"plaintext_found", *found},
                {"database", workspace->db},
                {"kept", workspace->dir.empty() || options.keep}}}});
  }
  // Plaintext at rest is a broken guarantee of the library, not bad input: a system failure.
  return found->empty() ? kExitOk : kExitSystem;
}

}  // namespace veribind::cli
