#include "core/debian/resolve.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/support/text.h"

namespace ocifs::debian {
namespace {

int PriorityRank(std::string_view p) {
  if (p == "required") return 0;
  if (p == "important") return 1;
  if (p == "standard") return 2;
  if (p == "optional") return 3;
  return 4;  // extra, or none
}

std::string Quote(std::string_view s) { return "`" + std::string(s) + "`"; }

// Who asked for a package: its id and, for a request, how it was asked for.
struct Link {
  std::string id;
  std::string note;  // "" or " (requested as `x`)"
};

// ", needed by `b 1`, needed by `a 2` (requested as `a`)": innermost first.
std::string NeededBy(const std::vector<Link>& chain) {
  std::string out;
  for (const Link& link : chain) out += ", needed by " + Quote(link.id) + link.note;
  return out;
}

struct Provided {
  const Package* by;
  const Relation* as;  // the Provides entry
};

class Resolver {
 public:
  Resolver(const std::vector<Package>& index, const std::vector<Package>& base,
           std::string_view arch)
      : arch_(arch) {
    for (const Package& p : index) {
      if (p.arch != arch_ && p.arch != "all") continue;
      by_name_[p.name].push_back(&p);
      for (const Relation& r : p.provides) providers_[r.name].push_back({&p, &r});
    }
    // Highest version first; the index's order among equal versions.
    for (auto& [name, list] : by_name_) {
      std::stable_sort(list.begin(), list.end(), [](const Package* a, const Package* b) {
        return CompareVersions(a->version, b->version) > 0;
      });
    }
    for (const Package& p : base) {
      base_.insert(&p);
      Present(&p);
    }
  }

  Result<Resolution> Run(const std::vector<Request>& requests) {
    Resolution out;
    for (const Request& request : requests) {
      const std::string chain = " (requested as " + Quote(request.ToString()) + ")";
      if (auto held = present_.find(request.name); held != present_.end()) {
        const Package* p = held->second.front();
        if (!request.version_pattern.empty() &&
            !MatchesVersionPattern(p->version, request.version_pattern)) {
          if (!base_.contains(p))
            return InvalidArgument("package " + Quote(request.name) + chain +
                                   ": an earlier request chose " + Quote(p->Id()) +
                                   ", which the version asked for does not match");
          return InvalidArgument(
              "package " + Quote(request.name) + chain + ": the base has " + Quote(p->Id()) +
              ", and ocifs adds packages beside the base's, it does not replace them");
        }
        if (base_.contains(p)) out.in_base.push_back(p->Id());
        continue;
      }
      OCIFS_ASSIGN_OR_RETURN(const Package* pick, PickRequested(request, chain));
      OCIFS_RETURN_IF_ERROR(Add(pick, {Link{pick->Id(), chain}}));
    }
    OCIFS_RETURN_IF_ERROR(CheckConflicts());
    for (const Package* p : order_) out.packages.push_back(*p);
    return out;
  }

 private:
  void Present(const Package* p) {
    present_[p->name].push_back(p);
    for (const Relation& r : p->provides) present_provides_[r.name].push_back({p, &r});
  }

  std::string Holder(const Package* p) const {
    return base_.contains(p) ? "the base has" : "another request added";
  }

  bool ArchOk(const Relation& r, const Package& p) const {
    if (r.arch == "any") return true;
    if (r.arch.empty() || r.arch == "native")
      return p.arch == arch_ || p.arch == "all" || p.multi_arch == "foreign";
    return p.arch == r.arch;
  }

  static bool ProvidesMatch(const Relation& wanted, const Relation& provided) {
    return wanted.op == RelOp::kNone ||
           (provided.op == RelOp::kEq && Satisfies(provided.version, wanted.op, wanted.version));
  }

  // Met by the base or a choice so far.
  bool Met(const Relation& r) const {
    if (auto it = present_.find(r.name); it != present_.end()) {
      for (const Package* p : it->second) {
        if (ArchOk(r, *p) && Satisfies(p->version, r.op, r.version)) return true;
      }
    }
    if (auto it = present_provides_.find(r.name); it != present_provides_.end()) {
      for (const Provided& p : it->second) {
        if (ArchOk(r, *p.by) && ProvidesMatch(r, *p.as)) return true;
      }
    }
    return false;
  }

  // The package to add for `r`, or nullptr with `why` set.
  const Package* Candidate(const Relation& r, std::string& why) const {
    if (auto held = present_.find(r.name); held != present_.end()) {
      why = Holder(held->second.front()) + " " + Quote(held->second.front()->Id());
      return nullptr;
    }
    std::vector<std::string> versions;
    if (auto it = by_name_.find(r.name); it != by_name_.end()) {
      for (const Package* p : it->second) {
        if (ArchOk(r, *p) && Satisfies(p->version, r.op, r.version)) return p;
        versions.push_back(p->version);
      }
    }
    std::vector<const Package*> providers;
    if (auto it = providers_.find(r.name); it != providers_.end()) {
      for (const Provided& p : it->second) {
        if (ArchOk(r, *p.by) && ProvidesMatch(r, *p.as) && !present_.contains(p.by->name))
          providers.push_back(p.by);
      }
    }
    if (!providers.empty()) {
      return *std::min_element(
          providers.begin(), providers.end(), [](const Package* a, const Package* b) {
            const int pa = PriorityRank(a->priority), pb = PriorityRank(b->priority);
            if (pa != pb) return pa < pb;
            if (a->name != b->name) return a->name < b->name;
            return CompareVersions(a->version, b->version) > 0;
          });
    }
    if (!versions.empty()) {
      why = "the index has " + Quote(r.name) + " " + JoinVersions(versions) + " only";
    } else if (providers_.contains(r.name)) {
      why = "nothing in the index provides it at that version";
    } else {
      why = "it is not in the index";
    }
    return nullptr;
  }

  static std::string JoinVersions(const std::vector<std::string>& versions) {
    std::string out;
    for (const std::string& v : versions) out += (out.empty() ? "" : ", ") + v;
    return out;
  }

  Result<const Package*> PickRequested(const Request& request, const std::string& chain) const {
    std::vector<std::string> versions;
    if (auto it = by_name_.find(request.name); it != by_name_.end()) {
      for (const Package* p : it->second) {
        if (request.version_pattern.empty() ||
            MatchesVersionPattern(p->version, request.version_pattern))
          return p;
        versions.push_back(p->version);
      }
      return InvalidArgument("package " + Quote(request.name) + chain + ": no version matches " +
                             Quote(request.version_pattern) + "; the index has " +
                             JoinVersions(versions));
    }
    std::set<std::string> providers;
    if (auto it = providers_.find(request.name); it != providers_.end()) {
      for (const Provided& p : it->second) providers.insert(p.by->name);
    }
    if (providers.size() == 1 && request.version_pattern.empty()) {
      Relation any;
      any.name = request.name;
      std::string why;
      if (const Package* p = Candidate(any, why)) return p;
    }
    if (!providers.empty()) {
      std::string names;
      for (const std::string& n : providers) names += (names.empty() ? "" : ", ") + n;
      return InvalidArgument("package " + Quote(request.name) + chain +
                             " is a virtual package, provided by " + names +
                             ": request one of them");
    }
    return NotFound("package " + Quote(request.name) + chain + " is not in the index (" +
                    std::to_string(by_name_.size()) + " package names for " + arch_ + " and all)");
  }

  // Adds `p` and, depth first, what it needs. `chain`: who asked, innermost first.
  Status Add(const Package* p, std::vector<Link> chain) {
    Present(p);  // before its dependencies: a cycle is then met
    for (const auto* field : {&p->pre_depends, &p->depends}) {
      for (const Alternatives& group : *field) {
        if (std::any_of(group.begin(), group.end(), [&](const Relation& r) { return Met(r); }))
          continue;
        const Package* pick = nullptr;
        std::string reasons;
        for (const Relation& r : group) {
          std::string why;
          if ((pick = Candidate(r, why))) break;
          reasons += (reasons.empty() ? "" : "; ") + Quote(r.ToString()) + ": " + why;
        }
        if (!pick) {
          std::string text;
          for (const Relation& r : group) text += (text.empty() ? "" : " | ") + r.ToString();
          return InvalidArgument("cannot add " + Quote(text) + NeededBy(chain) + ": " + reasons);
        }
        std::vector<Link> inner = chain;
        inner.insert(inner.begin(), Link{pick->Id(), ""});
        OCIFS_RETURN_IF_ERROR(Add(pick, std::move(inner)));
      }
    }
    order_.push_back(p);
    return Status::Ok();
  }

  // Whether `r` (a Conflicts or Breaks of `of`) hits `p`.
  bool Hits(const Relation& r, const Package* of, const Package* p) const {
    if (p->name == of->name) return false;
    if (p->name == r.name && ArchOk(r, *p) && Satisfies(p->version, r.op, r.version)) return true;
    for (const Relation& provided : p->provides) {
      if (provided.name == r.name && ProvidesMatch(r, provided)) return true;
    }
    return false;
  }

  Status CheckConflicts() const {
    std::vector<const Package*> all(base_.begin(), base_.end());
    std::sort(all.begin(), all.end(),
              [](const Package* a, const Package* b) { return a->name < b->name; });
    all.insert(all.end(), order_.begin(), order_.end());
    const std::set<const Package*> added(order_.begin(), order_.end());
    for (const Package* of : all) {
      for (const auto* field : {&of->conflicts, &of->breaks}) {
        const char* verb = field == &of->conflicts ? "conflicts with" : "breaks";
        for (const Alternatives& group : *field) {
          for (const Relation& r : group) {
            for (const Package* p : all) {
              if (!added.contains(of) && !added.contains(p)) continue;  // the base's own affair
              if (!Hits(r, of, p)) continue;
              return InvalidArgument(Quote(of->Id()) +
                                     (added.contains(of) ? "" : " (in the base)") + " " + verb +
                                     " " + Quote(r.ToString()) + ", which " + Quote(p->Id()) +
                                     (added.contains(p) ? " (added)" : " (in the base)") + " is");
            }
          }
        }
      }
    }
    return Status::Ok();
  }

  std::string arch_;
  std::map<std::string, std::vector<const Package*>> by_name_;
  std::map<std::string, std::vector<Provided>> providers_;
  std::set<const Package*> base_;
  std::map<std::string, std::vector<const Package*>> present_;
  std::map<std::string, std::vector<Provided>> present_provides_;
  std::vector<const Package*> order_;
};

}  // namespace

Result<Request> ParseRequest(std::string_view text, std::string_view what) {
  const std::string_view trimmed = TrimSpace(text);
  Request r;
  const size_t eq = trimmed.find('=');
  r.name = std::string(TrimSpace(trimmed.substr(0, eq)));
  if (eq != std::string_view::npos)
    r.version_pattern = std::string(TrimSpace(trimmed.substr(eq + 1)));
  auto bad = [&](std::string_view why) {
    return InvalidArgument(std::string(what) + ": " + Quote(text) + ": " + std::string(why));
  };
  if (!ValidPackageName(r.name))
    return bad("not a Debian package name (lower-case letters, digits, '+', '-', '.')");
  if (eq != std::string_view::npos) {
    if (r.version_pattern.empty()) return bad("no version after '='");
    for (char c : r.version_pattern) {
      if (c <= ' ' || c > '~') return bad("the version holds a space or a control character");
    }
  }
  return r;
}

Result<Resolution> Resolve(const std::vector<Request>& requests, const std::vector<Package>& index,
                           const std::vector<Package>& base, std::string_view arch) {
  return Resolver(index, base, arch).Run(requests);
}

}  // namespace ocifs::debian
