/*
 * ossl: the few libcrypto functions we use, opened at run time.
 *
 * Programs do not link libcrypto: its relocation alone costs every
 * process ~2.5 million instructions, as much as a whole page may spend,
 * and only sealing and password hashing need it.  Those call through
 * this table, typed from <openssl/evp.h> so the compiler checks every
 * call as if it were direct.
 */
#ifndef SB_OSSL_H
#define SB_OSSL_H

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* One list, so no pointer can be declared and left unresolved. */
#define OSSL_FUNCS(F)			\
	F(OPENSSL_init_crypto)		\
	F(EVP_CIPHER_fetch)		\
	F(EVP_CIPHER_CTX_new)		\
	F(EVP_CIPHER_CTX_free)		\
	F(EVP_CIPHER_CTX_ctrl)		\
	F(EVP_EncryptInit_ex2)		\
	F(EVP_EncryptUpdate)		\
	F(EVP_EncryptFinal_ex)		\
	F(EVP_DecryptInit_ex2)		\
	F(EVP_DecryptUpdate)		\
	F(EVP_DecryptFinal_ex)		\
	F(EVP_sha256)			\
	F(PKCS5_PBKDF2_HMAC)

struct ossl {
#define OSSL_MEMBER(fn)	__typeof__(fn) *fn;
	OSSL_FUNCS(OSSL_MEMBER)
#undef OSSL_MEMBER
};

/*
 * The table, libcrypto loaded and initialised on the first call; NULL
 * when it cannot be, said once on stderr, and for every later call.
 */
const struct ossl	*ossl(void);

/* AES-256-GCM, fetched on the first call and kept; NULL on failure. */
const EVP_CIPHER	*ossl_aes256gcm(void);

#endif
