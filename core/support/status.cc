#include "core/support/status.h"

#include <cstring>

#include <fmt/format.h>

namespace ocifs {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid argument";
    case Code::kNotFound:
      return "not found";
    case Code::kAlreadyExists:
      return "already exists";
    case Code::kPermissionDenied:
      return "permission denied";
    case Code::kIo:
      return "I/O error";
    case Code::kCorrupt:
      return "corrupt";
    case Code::kChanged:
      return "changed";
    case Code::kUnsupported:
      return "unsupported";
    case Code::kFailedPrecondition:
      return "failed precondition";
    case Code::kInternal:
      return "internal error";
  }
  return "unknown";
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, fmt::format("{}: {}", context, message_));
}

std::string Status::ToString() const { return ok() ? "ok" : message_; }

Status ErrnoStatus(int err, std::string_view what, std::string_view operation) {
  Code code = Code::kIo;
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      code = Code::kNotFound;
      break;
    case EACCES:
    case EPERM:
      code = Code::kPermissionDenied;
      break;
    case EEXIST:
    case ENOTEMPTY:
      code = Code::kAlreadyExists;
      break;
    default:
      break;
  }
  return Status(code, fmt::format("{}: {}: {}", what, operation, std::strerror(err)));
}

}  // namespace ocifs
