// Status and Result<T>: errors are values in ocifs.
//
// No exception crosses a core API. A function that can fail returns Status (nothing else to
// return) or Result<T> (a T or the Status that says why not). Both are [[nodiscard]]; check them
// with an early return, usually through OCIFS_RETURN_IF_ERROR / OCIFS_ASSIGN_OR_RETURN.
//
// A message names the object involved, in backquotes: "file `src/app/main.py`: permission denied".
// The code decides what the caller does with the error (the FUSE adapter maps codes to errno in
// one table, the command line maps them to exit codes).
//
// Thread safety: values, no shared state.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ocifs {

enum class Code {
  kOk = 0,
  kInvalidArgument,     // bad input from the user: a flag, a config key, a project file
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // refusing to overwrite
  kPermissionDenied,    // the OS said EACCES/EPERM
  kIo,                  // the OS failed otherwise
  kCorrupt,             // bytes do not hash to their digest, a malformed layout or cache entry
  kChanged,             // a source changed under a generation that already hashed it
  kUnsupported,         // valid input that ocifs does not handle (yet)
  kFailedPrecondition,  // asked at the wrong time (e.g. digests not ready)
  kInternal,            // a bug in ocifs
};

std::string_view CodeName(Code code);

// Levels of the daemon's log (and of plugins' log lines).
enum class LogLevel { kError = 0, kWarning = 1, kInfo = 2 };

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message".
  Status WithContext(std::string_view context) const;

  // "ok", or the message (the code is for programs, the message for people).
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status Corrupt(std::string m) { return {Code::kCorrupt, std::move(m)}; }
inline Status Unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }

// Maps an errno value to a Status naming `what` ("file `a/b`") and the failed operation.
Status ErrnoStatus(int err, std::string_view what, std::string_view operation);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like absl::StatusOr
  Result(Status status) : v_(std::move(status)) {
    assert(!std::get<Status>(v_).ok() && "a Result needs a value or an error");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }

  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ocifs

#define OCIFS_CONCAT_INNER_(a, b) a##b
#define OCIFS_CONCAT_(a, b) OCIFS_CONCAT_INNER_(a, b)

#define OCIFS_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::ocifs::Status ocifs_status_ = (expr);        \
    if (!ocifs_status_.ok()) return ocifs_status_; \
  } while (0)

#define OCIFS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#define OCIFS_ASSIGN_OR_RETURN(lhs, expr) \
  OCIFS_ASSIGN_OR_RETURN_IMPL_(OCIFS_CONCAT_(ocifs_result_, __LINE__), lhs, expr)
