// What the sbom tests share: tar layers, gzip and zstd made in memory.
#pragma once

#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace ocifs::sbom {

struct Entry {
  Entry(std::string n, std::string c, char t = '0', std::string l = "")
      : name(std::move(n)), content(std::move(c)), type(t), link(std::move(l)) {}
  std::string name;
  std::string content;
  char type;
  std::string link;
};

inline std::string TarHeader(const std::string& name, size_t size, char type,
                             const std::string& link) {
  std::string h(512, '\0');
  std::copy_n(name.begin(), std::min<size_t>(name.size(), 100), h.begin());
  auto octal = [&](size_t at, size_t width, uint64_t v) {
    std::string s = fmt::format("{:0{}o}", v, width - 1);
    std::copy(s.begin(), s.end(), h.begin() + static_cast<long>(at));
  };
  octal(100, 8, 0644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  h[156] = type;
  std::copy_n(link.begin(), std::min<size_t>(link.size(), 100), h.begin() + 157);
  std::copy_n(
      "ustar\0"
      "00",
      8, h.begin() + 257);
  std::fill_n(h.begin() + 148, 8, ' ');
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::string s = fmt::format("{:06o}", sum);
  std::copy(s.begin(), s.end(), h.begin() + 148);
  h[154] = '\0';
  return h;
}

inline std::string Tar(const std::vector<Entry>& entries) {
  std::string out;
  auto add = [&](const std::string& name, const std::string& content, char type,
                 const std::string& link) {
    out += TarHeader(name, content.size(), type, link);
    out += content;
    out.append((512 - content.size() % 512) % 512, '\0');
  };
  for (const auto& e : entries) {
    if (e.name.size() > 100) add("././@LongLink", e.name + '\0', 'L', "");
    add(e.name.size() > 100 ? e.name.substr(0, 100) : e.name, e.content, e.type, e.link);
  }
  out.append(1024, '\0');
  return out;
}

inline std::string Pax(const std::string& path) {
  std::string record = " path=" + path + "\n";
  size_t len = record.size() + 2;
  if (std::to_string(len).size() + record.size() != len) ++len;
  return std::to_string(len) + record;
}

inline std::string Gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

inline std::string Zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3));
  return out;
}

}  // namespace ocifs::sbom
