#pragma once

// Random identifiers in the formats upstream stores and clients expect.

#include <cstddef>
#include <string>

namespace happy::crypto {

// Fills `out` with n cryptographically secure random bytes (libsodium's
// randombytes_buf). Initialises libsodium on first use; thread-safe.
void random_bytes(void* out, std::size_t n);

// Prisma's cuid() (cuid v1): 25 lowercase chars, 'c' + 8 base36 ms timestamp
// + 4 base36 counter + 4 fingerprint + 8 random base36. Roughly time ordered,
// thread-safe.
std::string cuid();

// Random (version 4) UUID, lowercase 8-4-4-4-12.
std::string uuid_v4();

// n characters drawn uniformly from [A-Za-z0-9].
std::string random_alnum(std::size_t n);

}  // namespace happy::crypto
