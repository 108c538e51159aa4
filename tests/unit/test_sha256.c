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

int main(void)
{
    static const struct cu_test tests[] = {
        { "vectors", test_sha256__vectors },
        { "million_a", test_sha256__million_a },
        { NULL, NULL },
    };
    return cu_run("sha256", tests);
}
