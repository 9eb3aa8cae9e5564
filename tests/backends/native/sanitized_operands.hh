// What the sanitized gemm drivers share: operands allocated at their exact
// size, so that AddressSanitizer stops a read or write past the last row.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

// rows x width floats, ld apart, nothing after the last row's width.
inline std::vector<float> operand(std::mt19937& rng, int64_t rows, int64_t width, int64_t ld) {
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    std::vector<float> out((rows - 1) * ld + width);
    for (auto& x : out) x = value(rng);
    return out;
}
