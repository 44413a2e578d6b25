/*
 * A self-signed certificate for first runs, so https://localhost works
 * out of the box.  Runs in the parent before the keymgr starts.  It never
 * overwrites: when only one of the pair exists, start-up stops and names
 * the missing file.  Production installs bring their own pair.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "app.h"

#define CERT_DAYS	825

static int	tls_mkdir_for(const char *, const char *, struct fb_err *);
static X509	*tls_make_cert(EVP_PKEY *);
static int	tls_write(const char *, const char *, EVP_PKEY *, X509 *,
		    struct fb_err *);

int
fb_tls_ensure_pair(const char *cert, const char *key, struct fb_err *err)
{
	int		 has_cert = access(cert, F_OK) == 0;
	int		 has_key = access(key, F_OK) == 0;
	EVP_PKEY	*pkey = NULL;
	X509		*x509 = NULL;
	int		 rc = FB_ERR;

	if (has_cert && has_key)
		return (FB_OK);
	if (has_cert || has_key) {
		fb_err_set(err, "%s: '%s' is missing while its pair exists",
		    has_cert ? "TLS_KEY" : "TLS_CERT", has_cert ? key : cert);
		return (FB_ERR);
	}
	if (tls_mkdir_for(cert, "TLS_CERT", err) != FB_OK ||
	    tls_mkdir_for(key, "TLS_KEY", err) != FB_OK)
		return (FB_ERR);
	if ((pkey = EVP_RSA_gen(2048)) == NULL ||
	    (x509 = tls_make_cert(pkey)) == NULL)
		fb_err_set(err, "TLS_CERT: cannot make a self-signed pair");
	else if (tls_write(cert, key, pkey, x509, err) == FB_OK) {
		fb_log(FB_LOG_INFO, "made a self-signed pair: %s, %s",
		    cert, key);
		rc = FB_OK;
	}
	X509_free(x509);
	EVP_PKEY_free(pkey);
	return (rc);
}

static int
tls_mkdir_for(const char *path, const char *var, struct fb_err *err)
{
	char	copy[512], *dir;

	(void)snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		fb_err_set(err, "%s: cannot create folder '%s': %s", var, dir,
		    strerror(errno));
		return (FB_ERR);
	}
	return (FB_OK);
}

/* CN=localhost with SANs for localhost and 127.0.0.1. */
static X509 *
tls_make_cert(EVP_PKEY *pkey)
{
	X509		*x;
	X509_NAME	*name;
	X509_EXTENSION	*ext;
	X509V3_CTX	 ctx;

	if ((x = X509_new()) == NULL)
		return (NULL);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * CERT_DAYS);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name,
	    "DNS:localhost,IP:127.0.0.1");
	if (ext == NULL || !X509_add_ext(x, ext, -1) ||
	    !X509_sign(x, pkey, EVP_sha256())) {
		X509_EXTENSION_free(ext);
		X509_free(x);
		return (NULL);
	}
	X509_EXTENSION_free(ext);
	return (x);
}

static int
tls_write(const char *cert, const char *key, EVP_PKEY *pkey, X509 *x509,
    struct fb_err *err)
{
	FILE	*fp;
	int	 fd, ok;

	if ((fd = open(key, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		fb_err_set(err, "TLS_KEY: cannot write '%s': %s", key,
		    strerror(errno));
		return (FB_ERR);
	}
	ok = PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL);
	if (fclose(fp) != 0 || !ok) {
		fb_err_set(err, "TLS_KEY: cannot write '%s'", key);
		return (FB_ERR);
	}
	if ((fp = fopen(cert, "wx")) == NULL) {
		fb_err_set(err, "TLS_CERT: cannot write '%s': %s", cert,
		    strerror(errno));
		return (FB_ERR);
	}
	ok = PEM_write_X509(fp, x509);
	if (fclose(fp) != 0 || !ok) {
		fb_err_set(err, "TLS_CERT: cannot write '%s'", cert);
		return (FB_ERR);
	}
	return (FB_OK);
}
