/* test_sha256.c: SHA-256 against the FIPS 180-4 / NIST test vectors, fed
 * whole and in uneven pieces. */
#include <stdlib.h>
#include <string.h>

#include "cu.h"
#include "core/sha256.h"

static const char *hash_in_pieces(const char *p, size_t n, size_t piece)
{
    static char out[65];
    struct sha256 s;
    sha256_init(&s);
    for (size_t i = 0; i < n; i += piece)
        sha256_update(&s, p + i, n - i < piece ? n - i : piece);
    sha256_hex(&s, out);
    return out;
}

static void test_sha256__vectors(void)
{
    static const struct { const char *in, *out; } v[] = {
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
          "klmnopqrlmnopqrsmnopqrstnopqrstu",
          "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
    };
    size_t pieces[] = { 1, 3, 63, 64, 65, 1000 };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        for (size_t j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++)
            CU_ASSERT_STRING_EQUAL(hash_in_pieces(v[i].in, strlen(v[i].in), pieces[j]), v[i].out);
}

static void test_sha256__million_a(void)
{
    size_t n = 1000000;
    char *p = malloc(n);
    memset(p, 'a', n);
    CU_ASSERT_STRING_EQUAL(hash_in_pieces(p, n, 4099),
                           "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(p);
}

/* RFC 4231's HMAC-SHA256 test cases 1, 2, 3, 6 and 7 (a key longer than
 * the block is hashed first). */
static void test_sha256__hmac_rfc4231(void)
{
    char k20b[20], k20a[20], k131[131], d50[50];
    memset(k20b, 0x0b, sizeof(k20b));
    memset(k20a, 0xaa, sizeof(k20a));
    memset(k131, 0xaa, sizeof(k131));
    memset(d50, 0xdd, sizeof(d50));
    static const char m6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    static const char m7[] = "This is a test using a larger than block-size key and a larger than "
                             "block-size data. The key needs to be hashed before being used by "
                             "the HMAC algorithm.";
    const struct { const void *k; size_t kn; const void *m; size_t mn; const char *out; } v[] = {
        { k20b, 20, "Hi There", 8,
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
        { "Jefe", 4, "what do ya want for nothing?", 28,
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
        { k20a, 20, d50, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
        { k131, 131, m6, sizeof(m6) - 1,
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
        { k131, 131, m7, sizeof(m7) - 1,
          "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char hex[65];
        hmac_sha256_hex(v[i].k, v[i].kn, v[i].m, v[i].mn, hex);
        CU_ASSERT_STRING_EQUAL(hex, v[i].out);
    }
    CU_ASSERT_TRUE(digest_equal("abcdef", "abcdef", 6));
    CU_ASSERT_FALSE(digest_equal("abcdef", "abcdeF", 6));
    CU_ASSERT_FALSE(digest_equal("Xbcdef", "abcdef", 6));
}

int main(void)
{
    static const struct cu_test tests[] = {
        { "vectors", test_sha256__vectors },
        { "million_a", test_sha256__million_a },
        { "hmac_rfc4231", test_sha256__hmac_rfc4231 },
        { NULL, NULL },
    };
    return cu_run("sha256", tests);
}
