"""Remote sources: HTTP downloads and the Offres d'emploi API client."""
