"""`envcheck verify`: gather facts with probes (``examine``), judge them with the rules (``checks``), find the root
causes and the fix plan (``plan``), and run the plan (``fix``)."""
