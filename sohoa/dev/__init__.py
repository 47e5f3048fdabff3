"""Development and demonstration tools of the composition root — never used by the product path.
Tests and the README's examples use them.

* :mod:`sohoa.dev.samples`, :mod:`sohoa.dev.demo` — sample scans and the demo;
* :mod:`sohoa.dev.pki` — a dev/test PKI shaped like a real CA's (root → intermediate → officer,
  seal, TSA; RSA-4096/3072 or ECDSA P-384; certificate policies, CRL distribution points, AIA),
  CRLs with revocation reasons, ``sohoa pki dev`` set-up, SoftHSM2 tokens;
* :mod:`sohoa.dev.testpki` — the test PKI (every kind of certificate tests need), served on loopback;
* :mod:`sohoa.dev.servers` — a loopback HTTP server publishing the dev PKI's CRLs and CA
  certificates at the addresses written in its certificates, and an RFC 3161 TSA;
* :mod:`sohoa.dev.scans` — synthetic scanned pages with an OCR text layer for signing tests and
  benchmarks.
"""
