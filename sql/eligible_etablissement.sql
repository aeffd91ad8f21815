-- eligible_etablissement: establishments that may appear in any list, export, page or
-- match output. One definition for every output, so the privacy rule cannot drift:
-- active ('A'), diffusible on the establishment AND on its legal unit (statutDiffusion P
-- on either means "do not prospect"), whatever the upstream flag says.
-- {{ etablissement }}: the etablissement table, or a territory run's départements of it
-- (scoring/ranking.py: establishments_relation).
CREATE OR REPLACE TEMP VIEW eligible_etablissement AS
SELECT e.siret, e.siren, e.naf_code, e.code_commune, e.code_departement, e.latitude,
       e.longitude
FROM {{ etablissement }} e
LEFT JOIN unite_legale ul USING (siren)
WHERE e.etat_administratif = 'A'
  AND e.is_diffusible IS TRUE
  AND coalesce(e.statut_diffusion, '') <> 'P'
  AND ul.is_diffusible IS NOT FALSE
  AND coalesce(ul.statut_diffusion, '') <> 'P';
