// Learngene Studio's WebAssembly SIMD kernels for the tfjs wasm backend.
//
// Built by scripts/build-kernels.mjs (clang --target=wasm32 -msimd128) into
// engine/kernels/wasm-bytes.ts. The module IMPORTS the tfjs wasm backend's memory and
// works on tensors in place, so it must never touch memory it was not given: no data
// segments, no shadow stack (no local arrays, no address-taken locals), no globals.
// The build script checks the output for all three. Scratch space comes in as `work`.
//
// Layouts are row-major; "ld" is a row stride in floats. Everything is float32.

#include <wasm_simd128.h>

typedef v128_t V;
#define LD(p) wasm_v128_load(p)
#define ST(p, v) wasm_v128_store(p, v)
#define SPLAT(p) wasm_v128_load32_splat(p)
#define SET1(x) wasm_f32x4_splat(x)
#define MUL wasm_f32x4_mul
#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub
#define DIV wasm_f32x4_div
// pmin/pmax (x86 minps/maxps semantics) compile to one instruction; f32x4.min/max need
// NaN-propagating sequences of several.
#define MIN wasm_f32x4_pmin
#define MAX wasm_f32x4_pmax
#define EXPORT(name) __attribute__((export_name(#name)))

static inline float hsum(V v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}
static inline float hmax(V v) {
  float a = wasm_f32x4_extract_lane(v, 0), b = wasm_f32x4_extract_lane(v, 1);
  float c = wasm_f32x4_extract_lane(v, 2), d = wasm_f32x4_extract_lane(v, 3);
  a = a > b ? a : b;
  c = c > d ? c : d;
  return a > c ? a : c;
}

// ---------------------------------------------------------------------------------
// GEMM: C[M,N] (+)= op(A)[M,K] · op(B)[K,N] (+ bias[N])
// op(A) = A stored [M,K] (transA=0) or [K,M] (transA=1); op(B) likewise.
// B is packed per K-block into NR-column panels, A into MR-row panels; a 4×8 register
// tile (8 accumulators) is the micro-kernel that V8 compiles without spills.
// work: at least gemm_work_floats(N) floats.
#define KC 256
#define MR 4
#define NR 8

EXPORT(gemm_work_floats) int gemm_work_floats(int N) {
  // packed B panels, one packed A panel, the edge tile, a padded bias row
  return KC * ((N + NR - 1) / NR) * NR + KC * MR + MR * NR + NR;
}

static void micro_4x8(int kc, const float* restrict a, const float* restrict b, float* restrict c, int ldc, int load_c,
                      const float* bias, int mr, int nr, float* restrict tmp) {
  V c00 = SET1(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int k = 0; k < kc; k++) {
    V b0 = LD(b), b1 = LD(b + 4);
    V a0 = SPLAT(a);
    c00 = ADD(c00, MUL(a0, b0));
    c01 = ADD(c01, MUL(a0, b1));
    V a1 = SPLAT(a + 1);
    c10 = ADD(c10, MUL(a1, b0));
    c11 = ADD(c11, MUL(a1, b1));
    V a2 = SPLAT(a + 2);
    c20 = ADD(c20, MUL(a2, b0));
    c21 = ADD(c21, MUL(a2, b1));
    V a3 = SPLAT(a + 3);
    c30 = ADD(c30, MUL(a3, b0));
    c31 = ADD(c31, MUL(a3, b1));
    a += MR;
    b += NR;
  }
  if (bias) {
    V bb0 = LD(bias), bb1 = LD(bias + 4);
    c00 = ADD(c00, bb0); c01 = ADD(c01, bb1); c10 = ADD(c10, bb0); c11 = ADD(c11, bb1);
    c20 = ADD(c20, bb0); c21 = ADD(c21, bb1); c30 = ADD(c30, bb0); c31 = ADD(c31, bb1);
  }
  if (mr == MR && nr == NR) {
    float* r0 = c;
    float* r1 = c + ldc;
    float* r2 = r1 + ldc;
    float* r3 = r2 + ldc;
    if (load_c) {
      c00 = ADD(c00, LD(r0)); c01 = ADD(c01, LD(r0 + 4));
      c10 = ADD(c10, LD(r1)); c11 = ADD(c11, LD(r1 + 4));
      c20 = ADD(c20, LD(r2)); c21 = ADD(c21, LD(r2 + 4));
      c30 = ADD(c30, LD(r3)); c31 = ADD(c31, LD(r3 + 4));
    }
    ST(r0, c00); ST(r0 + 4, c01); ST(r1, c10); ST(r1 + 4, c11);
    ST(r2, c20); ST(r2 + 4, c21); ST(r3, c30); ST(r3 + 4, c31);
  } else {
    ST(tmp, c00); ST(tmp + 4, c01); ST(tmp + 8, c10); ST(tmp + 12, c11);
    ST(tmp + 16, c20); ST(tmp + 20, c21); ST(tmp + 24, c30); ST(tmp + 28, c31);
    for (int i = 0; i < mr; i++)
      for (int j = 0; j < nr; j++) c[i * ldc + j] = (load_c ? c[i * ldc + j] : 0.0f) + tmp[i * NR + j];
  }
}

EXPORT(gemm)
void gemm(int M, int N, int K, const float* A, int lda, int transA, const float* B, int ldb, int transB, float* C, int ldc,
          int accumulate, const float* bias, float* work) {
  int np = (N + NR - 1) / NR;
  float* pb = work;
  float* pa = work + KC * np * NR;
  float* tmp = pa + KC * MR;
  float* biasPad = tmp;  // reused: bias of a partial last panel, padded to NR
  if (K == 0) {
    // C = bias (or C += bias, or untouched)
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) C[i * ldc + j] = (accumulate ? C[i * ldc + j] : 0.0f) + (bias ? bias[j] : 0.0f);
    return;
  }
  for (int k0 = 0; k0 < K; k0 += KC) {
    int kc = K - k0 < KC ? K - k0 : KC;
    for (int p = 0; p < np; p++) {
      float* dst = pb + p * kc * NR;
      int j0 = p * NR, nr = N - j0 < NR ? N - j0 : NR;
      if (!transB) {
        if (nr == NR) {
          for (int k = 0; k < kc; k++) {
            const float* s = B + (k0 + k) * ldb + j0;
            ST(dst + k * NR, LD(s));
            ST(dst + k * NR + 4, LD(s + 4));
          }
        } else {
          for (int k = 0; k < kc; k++)
            for (int j = 0; j < NR; j++) dst[k * NR + j] = j < nr ? B[(k0 + k) * ldb + j0 + j] : 0.0f;
        }
      } else {
        for (int j = 0; j < NR; j++) {
          if (j < nr) {
            const float* s = B + (j0 + j) * ldb + k0;
            for (int k = 0; k < kc; k++) dst[k * NR + j] = s[k];
          } else {
            for (int k = 0; k < kc; k++) dst[k * NR + j] = 0.0f;
          }
        }
      }
    }
    int load_c = accumulate || k0 > 0;
    const float* blockBias = k0 == 0 ? bias : 0;
    for (int i0 = 0; i0 < M; i0 += MR) {
      int mr = M - i0 < MR ? M - i0 : MR;
      if (!transA) {
        for (int i = 0; i < MR; i++) {
          if (i < mr) {
            const float* s = A + (i0 + i) * lda + k0;
            for (int k = 0; k < kc; k++) pa[k * MR + i] = s[k];
          } else {
            for (int k = 0; k < kc; k++) pa[k * MR + i] = 0.0f;
          }
        }
      } else if (mr == MR) {
        for (int k = 0; k < kc; k++) ST(pa + k * MR, wasm_v128_load(A + (k0 + k) * lda + i0));
      } else {
        for (int k = 0; k < kc; k++) {
          const float* s = A + (k0 + k) * lda + i0;
          for (int i = 0; i < MR; i++) pa[k * MR + i] = i < mr ? s[i] : 0.0f;
        }
      }
      for (int p = 0; p < np; p++) {
        int j0 = p * NR, nr = N - j0 < NR ? N - j0 : NR;
        const float* pbias = 0;
        if (blockBias) {
          if (nr == NR) {
            pbias = blockBias + j0;
          } else {
            // copied after the micro-kernel's tmp tile so the two never overlap
            for (int j = 0; j < NR; j++) biasPad[MR * NR + j] = j < nr ? blockBias[j0 + j] : 0.0f;
            pbias = biasPad + MR * NR;
          }
        }
        micro_4x8(kc, pa, pb + p * kc * NR, C + i0 * ldc + j0, ldc, load_c, pbias, mr, nr, tmp);
      }
    }
  }
}

// out[N] = sum over rows of X[M,N] (row stride ldx), rows streamed in order (out stays in L1).
EXPORT(sum_rows)
void sum_rows(int M, int N, const float* X, int ldx, float* out) {
  int N4 = N & ~3;
  for (int j = 0; j < N; j++) out[j] = 0.0f;
  for (int i = 0; i < M; i++) {
    const float* r = X + i * ldx;
    int j = 0;
    for (; j + 16 <= N4; j += 16) {
      ST(out + j, ADD(LD(out + j), LD(r + j)));
      ST(out + j + 4, ADD(LD(out + j + 4), LD(r + j + 4)));
      ST(out + j + 8, ADD(LD(out + j + 8), LD(r + j + 8)));
      ST(out + j + 12, ADD(LD(out + j + 12), LD(r + j + 12)));
    }
    for (; j < N4; j += 4) ST(out + j, ADD(LD(out + j), LD(r + j)));
    for (; j < N; j++) out[j] += r[j];
  }
}

// ---------------------------------------------------------------------------------
// Elementwise math. exp: Cephes expf (range reduction by ln 2, degree-5 polynomial),
// relative error ~2e-7 on [-87, 88]; erf: the float32 rational of Eigen/XLA on [-4, 4].
static inline V vexp(V x) {
  x = MIN(MAX(x, SET1(-87.3f)), SET1(88.3f));
  V fx = wasm_f32x4_nearest(MUL(x, SET1(1.44269504088896341f)));
  x = SUB(x, MUL(fx, SET1(0.693359375f)));
  x = SUB(x, MUL(fx, SET1(-2.12194440e-4f)));
  V z = MUL(x, x);
  V y = SET1(1.9875691500e-4f);
  y = ADD(MUL(y, x), SET1(1.3981999507e-3f));
  y = ADD(MUL(y, x), SET1(8.3334519073e-3f));
  y = ADD(MUL(y, x), SET1(4.1665795894e-2f));
  y = ADD(MUL(y, x), SET1(1.6666665459e-1f));
  y = ADD(MUL(y, x), SET1(5.0000001201e-1f));
  y = ADD(ADD(MUL(y, z), x), SET1(1.0f));
  // 2^fx: fx + 127 lands in the low mantissa bits of (fx + 127 + 1.5·2^23); shifting by 23
  // moves it into the exponent field (fx + 127 is in [1, 254] after the clamp).
  V n = wasm_i32x4_shl(ADD(fx, SET1(12582912.0f + 127.0f)), 23);
  return MUL(y, n);
}

static inline float sexp(float x) {
  return wasm_f32x4_extract_lane(vexp(SET1(x)), 0);
}

static inline V verf(V x) {
  x = MIN(MAX(x, SET1(-4.0f)), SET1(4.0f));
  V x2 = MUL(x, x);
  V p = SET1(-2.72614225801306e-10f);
  p = ADD(MUL(p, x2), SET1(2.77068142495902e-08f));
  p = ADD(MUL(p, x2), SET1(-2.10102402082508e-06f));
  p = ADD(MUL(p, x2), SET1(-5.69250639462346e-05f));
  p = ADD(MUL(p, x2), SET1(-7.34990630326855e-04f));
  p = ADD(MUL(p, x2), SET1(-2.95459980854025e-03f));
  p = ADD(MUL(p, x2), SET1(-1.60960333262415e-02f));
  V q = SET1(-1.45660718464996e-05f);
  q = ADD(MUL(q, x2), SET1(-2.13374055278905e-04f));
  q = ADD(MUL(q, x2), SET1(-1.68282697438203e-03f));
  q = ADD(MUL(q, x2), SET1(-7.37332916720468e-03f));
  q = ADD(MUL(q, x2), SET1(-1.42647390514189e-02f));
  return DIV(MUL(x, p), q);
}

#define SQRT_HALF 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f
#define TANH_C 0.79788456080286536f

// GELU: kind 0 exact x·Φ(x); kind 1 tanh approximation x·σ(2u), u = √(2/π)(x + 0.044715x³).
static inline V gelu_v(V v, int kind) {
  V out;
    if (kind == 0) {
      V cdf = MUL(ADD(verf(MUL(v, SET1(SQRT_HALF))), SET1(1.0f)), SET1(0.5f));
      out = MUL(v, cdf);
    } else {
      V u = MUL(MUL(v, ADD(MUL(MUL(v, v), SET1(0.044715f)), SET1(1.0f))), SET1(TANH_C));
      V s = DIV(SET1(1.0f), ADD(SET1(1.0f), vexp(MUL(u, SET1(-2.0f)))));
      out = MUL(v, s);
    }
  return out;
}

EXPORT(gelu_fwd)
void gelu_fwd(int n, int kind, const float* x, float* y) {
  int n4 = n & ~3;
  for (int i = 0; i < n4; i += 4) ST(y + i, gelu_v(LD(x + i), kind));
  for (int i = n4; i < n; i++) y[i] = wasm_f32x4_extract_lane(gelu_v(SET1(x[i]), kind), 0);
}

static inline V gelu_grad_v(V v, int kind) {
  V d;
    if (kind == 0) {
      V cdf = MUL(ADD(verf(MUL(v, SET1(SQRT_HALF))), SET1(1.0f)), SET1(0.5f));
      V pdf = MUL(vexp(MUL(MUL(v, v), SET1(-0.5f))), SET1(INV_SQRT_2PI));
      d = ADD(cdf, MUL(v, pdf));
    } else {
      V v2 = MUL(v, v);
      V u = MUL(MUL(v, ADD(MUL(v2, SET1(0.044715f)), SET1(1.0f))), SET1(TANH_C));
      V s = DIV(SET1(1.0f), ADD(SET1(1.0f), vexp(MUL(u, SET1(-2.0f)))));
      V du = MUL(ADD(MUL(v2, SET1(3 * 0.044715f)), SET1(1.0f)), SET1(TANH_C));
      V ds = MUL(MUL(MUL(s, SUB(SET1(1.0f), s)), SET1(2.0f)), du);
      d = ADD(s, MUL(v, ds));
    }
  return d;
}

EXPORT(gelu_bwd)
void gelu_bwd(int n, int kind, const float* dy, const float* x, float* dx) {
  int n4 = n & ~3;
  for (int i = 0; i < n4; i += 4) ST(dx + i, MUL(LD(dy + i), gelu_grad_v(LD(x + i), kind)));
  for (int i = n4; i < n; i++) dx[i] = dy[i] * wasm_f32x4_extract_lane(gelu_grad_v(SET1(x[i]), kind), 0);
}

// ---------------------------------------------------------------------------------
// LayerNorm over rows of x[M,C] (C a multiple of 4), biased variance as PyTorch.
EXPORT(layernorm_fwd)
void layernorm_fwd(int M, int C, const float* x, const float* gamma, const float* beta, float eps, float* y, float* xhat,
                   float* rstd) {
  float invC = 1.0f / (float)C;
  for (int r = 0; r < M; r++) {
    const float* xr = x + r * C;
    V s = SET1(0);
    for (int j = 0; j < C; j += 4) s = ADD(s, LD(xr + j));
    V mean = SET1(hsum(s) * invC);
    V s2 = SET1(0);
    for (int j = 0; j < C; j += 4) {
      V d = SUB(LD(xr + j), mean);
      s2 = ADD(s2, MUL(d, d));
    }
    float var = hsum(s2) * invC;
    float rs = 1.0f / __builtin_sqrtf(var + eps);
    rstd[r] = rs;
    V vrs = SET1(rs);
    float* hr = xhat + r * C;
    float* yr = y + r * C;
    for (int j = 0; j < C; j += 4) {
      V h = MUL(SUB(LD(xr + j), mean), vrs);
      ST(hr + j, h);
      ST(yr + j, ADD(MUL(h, LD(gamma + j)), LD(beta + j)));
    }
  }
}

// dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)), dxhat = dy·γ;
// dgamma = Σ dy·xhat, dbeta = Σ dy over rows.
EXPORT(layernorm_bwd)
void layernorm_bwd(int M, int C, const float* dy, const float* xhat, const float* rstd, const float* gamma, float* dx,
                   float* dgamma, float* dbeta) {
  float invC = 1.0f / (float)C;
  for (int j = 0; j < C; j += 4) {
    ST(dgamma + j, SET1(0));
    ST(dbeta + j, SET1(0));
  }
  for (int r = 0; r < M; r++) {
    const float* dyr = dy + r * C;
    const float* hr = xhat + r * C;
    V s1 = SET1(0), s2 = SET1(0);
    for (int j = 0; j < C; j += 4) {
      V g = LD(dyr + j), h = LD(hr + j);
      V dh = MUL(g, LD(gamma + j));
      s1 = ADD(s1, dh);
      s2 = ADD(s2, MUL(dh, h));
      ST(dgamma + j, ADD(LD(dgamma + j), MUL(g, h)));
      ST(dbeta + j, ADD(LD(dbeta + j), g));
    }
    V m1 = SET1(hsum(s1) * invC), m2 = SET1(hsum(s2) * invC), rs = SET1(rstd[r]);
    float* dxr = dx + r * C;
    for (int j = 0; j < C; j += 4) {
      V h = LD(hr + j);
      V dh = MUL(LD(dyr + j), LD(gamma + j));
      ST(dxr + j, MUL(rs, SUB(SUB(dh, m1), MUL(h, m2))));
    }
  }
}

// ---------------------------------------------------------------------------------
// Softmax over rows of S[T,T] in place, after scaling by `scale`.
static void softmax_rows(int T, float* S, float scale) {
  int T4 = T & ~3;
  V sc = SET1(scale);
  for (int r = 0; r < T; r++) {
    float* s = S + r * T;
    float mx = -3.4e38f;
    if (T4 > 0) {
      V m = LD(s);
      for (int j = 4; j < T4; j += 4) m = MAX(m, LD(s + j));
      mx = hmax(m);
    }
    for (int j = T4; j < T; j++) mx = s[j] > mx ? s[j] : mx;
    V vmx = SET1(mx * scale);
    V sum = SET1(0);
    for (int j = 0; j < T4; j += 4) {
      V e = vexp(SUB(MUL(LD(s + j), sc), vmx));
      ST(s + j, e);
      sum = ADD(sum, e);
    }
    float total = hsum(sum);
    for (int j = T4; j < T; j++) {
      float e = sexp(s[j] * scale - mx * scale);
      s[j] = e;
      total += e;
    }
    float inv = 1.0f / total;
    V vinv = SET1(inv);
    for (int j = 0; j < T4; j += 4) ST(s + j, MUL(LD(s + j), vinv));
    for (int j = T4; j < T; j++) s[j] *= inv;
  }
}

// Small GEMM for attention blocks, no packing: C[M,N] (+)= A·B with A(i,k) at
// a[i·rsA + k·csA] (so Aᵀ is free) and B row-major [K,N] (row stride ldb). Full 4×8
// tiles in SIMD, ragged edges in scalar code.
static void small_gemm(int M, int N, int K, const float* a, int rsA, int csA, const float* b, int ldb, float* c, int ldc,
                       int accumulate) {
  int M4 = M & ~3, N8 = N & ~7;
  for (int i0 = 0; i0 < M4; i0 += 4) {
    const float* a0 = a + i0 * rsA;
    const float* a1 = a0 + rsA;
    const float* a2 = a1 + rsA;
    const float* a3 = a2 + rsA;
    for (int j0 = 0; j0 < N8; j0 += 8) {
      V c00 = SET1(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      const float* bk = b + j0;
      for (int k = 0; k < K; k++) {
        V b0 = LD(bk), b1 = LD(bk + 4);
        int o = k * csA;
        V x0 = SPLAT(a0 + o);
        c00 = ADD(c00, MUL(x0, b0));
        c01 = ADD(c01, MUL(x0, b1));
        V x1 = SPLAT(a1 + o);
        c10 = ADD(c10, MUL(x1, b0));
        c11 = ADD(c11, MUL(x1, b1));
        V x2 = SPLAT(a2 + o);
        c20 = ADD(c20, MUL(x2, b0));
        c21 = ADD(c21, MUL(x2, b1));
        V x3 = SPLAT(a3 + o);
        c30 = ADD(c30, MUL(x3, b0));
        c31 = ADD(c31, MUL(x3, b1));
        bk += ldb;
      }
      float* r0 = c + i0 * ldc + j0;
      float* r1 = r0 + ldc;
      float* r2 = r1 + ldc;
      float* r3 = r2 + ldc;
      if (accumulate) {
        c00 = ADD(c00, LD(r0)); c01 = ADD(c01, LD(r0 + 4));
        c10 = ADD(c10, LD(r1)); c11 = ADD(c11, LD(r1 + 4));
        c20 = ADD(c20, LD(r2)); c21 = ADD(c21, LD(r2 + 4));
        c30 = ADD(c30, LD(r3)); c31 = ADD(c31, LD(r3 + 4));
      }
      ST(r0, c00); ST(r0 + 4, c01); ST(r1, c10); ST(r1 + 4, c11);
      ST(r2, c20); ST(r2 + 4, c21); ST(r3, c30); ST(r3 + 4, c31);
    }
  }
  // ragged edges: rows M4..M for all columns, and columns N8..N for rows < M4
  for (int i = 0; i < M; i++) {
    int jStart = i < M4 ? N8 : 0;
    for (int j = jStart; j < N; j++) {
      float s = accumulate ? c[i * ldc + j] : 0.0f;
      for (int k = 0; k < K; k++) s += a[i * rsA + k * csA] * b[k * ldb + j];
      c[i * ldc + j] = s;
    }
  }
}

// dst[c][r] = src[r][c] for a rows×cols block (row stride lds) into a dense cols×rows.
static void transpose_block(int rows, int cols, const float* src, int lds, float* dst) {
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) dst[c * rows + r] = src[r * lds + c];
}

EXPORT(attention_work_floats) int attention_work_floats(int T, int d) {
  return 2 * T * T + 2 * T * d;
}

// Multi-head attention on projected q, k, v [B·T, ld] (head h in columns h·d..h·d+d).
// out [B·T, ldo] gets softmax(scale·q·kᵀ)·v per head; probs [B·H, T, T] keeps the
// softmax for the backward pass.
EXPORT(attention_fwd)
void attention_fwd(int B, int T, int H, int d, const float* q, const float* k, const float* v, int ld, float scale,
                   float* out, int ldo, float* probs, float* work) {
  float* kT = work;  // [d, T]
  for (int b = 0; b < B; b++) {
    for (int h = 0; h < H; h++) {
      const float* qb = q + b * T * ld + h * d;
      const float* kb = k + b * T * ld + h * d;
      const float* vb = v + b * T * ld + h * d;
      float* P = probs + (b * H + h) * T * T;
      transpose_block(T, d, kb, ld, kT);
      small_gemm(T, T, d, qb, ld, 1, kT, T, P, T, 0);             // S = q·kᵀ
      softmax_rows(T, P, scale);
      small_gemm(T, d, T, P, T, 1, vb, ld, out + b * T * ldo + h * d, ldo, 0);  // O = P·v
    }
  }
}

// Gradients of attention_fwd: dq, dk, dv [B·T, ldg] from dout [B·T, ldo].
//   dP = dO·vᵀ, dV = Pᵀ·dO, dS = scale·P⊙(dP − rowsum(dP⊙P)), dQ = dS·k, dK = dSᵀ·q.
EXPORT(attention_bwd)
void attention_bwd(int B, int T, int H, int d, const float* dout, int ldo, const float* q, const float* k, const float* v,
                   int ld, const float* probs, float scale, float* dq, float* dk, float* dv, int ldg, float* work) {
  float* dP = work;               // [T, T]
  float* vT = work + 2 * T * T;   // [d, T]
  for (int b = 0; b < B; b++) {
    for (int h = 0; h < H; h++) {
      const float* dob = dout + b * T * ldo + h * d;
      const float* qb = q + b * T * ld + h * d;
      const float* kb = k + b * T * ld + h * d;
      const float* vb = v + b * T * ld + h * d;
      const float* P = probs + (b * H + h) * T * T;
      float* dqb = dq + b * T * ldg + h * d;
      float* dkb = dk + b * T * ldg + h * d;
      float* dvb = dv + b * T * ldg + h * d;
      transpose_block(T, d, vb, ld, vT);
      small_gemm(T, T, d, dob, ldo, 1, vT, T, dP, T, 0);     // dP = dO·vᵀ
      small_gemm(T, d, T, P, 1, T, dob, ldo, dvb, ldg, 0);   // dV = Pᵀ·dO
      V sc = SET1(scale);
      int T4 = T & ~3;
      for (int r = 0; r < T; r++) {
        float* dpr = dP + r * T;
        const float* pr = P + r * T;
        V acc = SET1(0);
        for (int j = 0; j < T4; j += 4) acc = ADD(acc, MUL(LD(dpr + j), LD(pr + j)));
        float dot = hsum(acc);
        for (int j = T4; j < T; j++) dot += dpr[j] * pr[j];
        V vdot = SET1(dot);
        for (int j = 0; j < T4; j += 4) ST(dpr + j, MUL(MUL(LD(pr + j), SUB(LD(dpr + j), vdot)), sc));
        for (int j = T4; j < T; j++) dpr[j] = pr[j] * (dpr[j] - dot) * scale;
      }
      small_gemm(T, d, T, dP, T, 1, kb, ld, dqb, ldg, 0);    // dQ = dS·k
      small_gemm(T, d, T, dP, 1, T, qb, ld, dkb, ldg, 0);    // dK = dSᵀ·q
    }
  }
}

// ---------------------------------------------------------------------------------
// AdamW (torch.optim.AdamW, single-tensor path) on n values:
//   p ← p·decay − stepSize·m'/(√v'/bias2Sqrt + eps),  m' = β1·m + (1−β1)·g·gscale,
//   v' = β2·v + (1−β2)·(g·gscale)²; decay = 1 − lr·wd (1 for no decay),
//   stepSize = lr / (1 − β1^t). Writes p', m', v' to separate outputs.
static inline void adamw_v(const float* p, const float* g, const float* m, const float* v, V gs, V b1, V b1c, V b2, V b2c,
                           V ve, V vd, V vs, V vb2, float* pOut, float* mOut, float* vOut) {
  V gi = MUL(LD(g), gs);
  V mn = ADD(MUL(LD(m), b1), MUL(gi, b1c));
  V vn = ADD(MUL(LD(v), b2), MUL(MUL(gi, gi), b2c));
  V denom = ADD(DIV(wasm_f32x4_sqrt(vn), vb2), ve);
  ST(pOut, SUB(MUL(LD(p), vd), MUL(DIV(mn, denom), vs)));
  ST(mOut, mn);
  ST(vOut, vn);
}

EXPORT(adamw)
void adamw(int n, const float* p, const float* g, const float* m, const float* v, float gscale, float beta1, float beta2,
           float eps, float decay, float stepSize, float bias2Sqrt, float* pOut, float* mOut, float* vOut) {
  V b1 = SET1(beta1), b1c = SET1(1.0f - beta1), b2 = SET1(beta2), b2c = SET1(1.0f - beta2);
  V ve = SET1(eps), vd = SET1(decay), vs = SET1(stepSize), vb2 = SET1(bias2Sqrt), gs = SET1(gscale);
  int n4 = n & ~3;
  for (int i = 0; i < n4; i += 4)
    adamw_v(p + i, g + i, m + i, v + i, gs, b1, b1c, b2, b2c, ve, vd, vs, vb2, pOut + i, mOut + i, vOut + i);
  for (int i = n4; i < n; i++) {
    // scalar tail through lane 0 of the same vector code (same rounding as the body)
    float pt = p[i], gt = g[i], mt = m[i], vt = v[i];
    V pv = SET1(pt), gv = SET1(gt), mv = SET1(mt), vv = SET1(vt);
    V gi = MUL(gv, gs);
    V mn = ADD(MUL(mv, b1), MUL(gi, b1c));
    V vn = ADD(MUL(vv, b2), MUL(MUL(gi, gi), b2c));
    V denom = ADD(DIV(wasm_f32x4_sqrt(vn), vb2), ve);
    pOut[i] = wasm_f32x4_extract_lane(SUB(MUL(pv, vd), MUL(DIV(mn, denom), vs)), 0);
    mOut[i] = wasm_f32x4_extract_lane(mn, 0);
    vOut[i] = wasm_f32x4_extract_lane(vn, 0);
  }
}

// Σ x² over n values.
EXPORT(sum_squares)
float sum_squares(int n, const float* x) {
  V a0 = SET1(0), a1 = a0;
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    V u = LD(x + i), w = LD(x + i + 4);
    a0 = ADD(a0, MUL(u, u));
    a1 = ADD(a1, MUL(w, w));
  }
  float s = hsum(ADD(a0, a1));
  for (; i < n; i++) s += x[i] * x[i];
  return s;
}
