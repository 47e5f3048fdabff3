"""Development and demonstration tools of the composition root: tests, benchmarks and the
documentation's examples use them. The product reaches them in four places only, each for the
development PKI or the demo, never for real keys or real data:

* the web app publishes the dev PKI's CRLs and CA certificates at ``/pki/…`` when ``dev_mode`` is
  set (``sohoa.web.app``), the mode ``sohoa pki dev`` turns on;
* ``sohoa pki dev`` creates the dev PKI and ``sohoa pki serve`` serves it with a test TSA
  (``sohoa.cli.signing``);
* ``sohoa officer revoke`` also puts the certificate on the dev CA's CRL when the dev CA issued it
  (for any other certificate it does nothing: the real CA is asked to revoke it);
* ``sohoa dev sample`` and ``sohoa dev portal`` write a synthetic scan and run a fake portal
  (``sohoa.cli.dev``).

Its modules:

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
