"""Development and demonstration tools of the composition root — never used by the product path:
sample scans (``samples``), the demo (``demo``), and the dev services (PKI, portal) added by
``sohoa pki dev`` / ``sohoa dev …``. Tests and the README's examples use them."""
