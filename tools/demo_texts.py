"""The demo patient's report and note texts, written as the clinicians would (tools/make_demo.py
puts them in DiagnosticReports and DocumentReferences)."""

CT_2014_CONCLUSION = (
    "Moderate panlobular emphysema with marked basilar (lower-lobe) predominance, a distribution "
    "characteristic of alpha-1 antitrypsin deficiency; mild upper-lobe centrilobular emphysema. "
    "No pulmonary nodule or consolidation. Layering gallbladder sludge or small stones."
)
CT_2014_REPORT = """\
RIVERSIDE MEDICAL CENTER - DEPARTMENT OF RADIOLOGY

EXAM: CT CHEST WITHOUT CONTRAST
DATE OF EXAM: 01/16/2014
PATIENT: DOYLE, MARGARET ELLEN   DOB: 04/12/1968   MRN: E4471902
ORDERING PHYSICIAN: Daniel R. Okafor, MD

CLINICAL INDICATION: COPD diagnosed at age 44, former smoker (20 pack-years). Characterise
emphysema.

TECHNIQUE: Volumetric acquisition from the thoracic inlet to the adrenal glands without
intravenous contrast, full inspiration, with limited expiratory images. 1.25 mm reconstructions.

COMPARISON: Chest radiograph 03/14/2013.

FINDINGS:
Lungs and airways: Panlobular emphysema with diffuse simplification of the lung architecture and
attenuated vessels, bilateral and symmetric, markedly lower-lobe predominant. Mild centrilobular
emphysema in both upper lobes. Low-attenuation areas below -950 HU occupy 18 % of total lung
volume (29 % of the lower lobes); 15th percentile lung density -948 HU. Mild lower-lobe
bronchial wall thickening without bronchiectasis. Air trapping on expiratory images. No nodule,
mass or consolidation.
Pleura: No effusion or pneumothorax.
Mediastinum and heart: No lymphadenopathy. Normal heart size. Main pulmonary artery 26 mm.
Upper abdomen: Liver of normal contour. Dependent dense material in the gallbladder, sludge or
small stones. Spleen normal.
Bones: Degenerative change of the thoracic spine only.

IMPRESSION:
1. Moderate panlobular emphysema with striking basilar predominance. This distribution is
   characteristic of alpha-1 antitrypsin deficiency; serum AAT level and phenotype recommended.
2. Mild superimposed upper-lobe centrilobular emphysema, in keeping with the smoking history.
3. No pulmonary nodule.
4. Gallbladder sludge or small stones; ultrasound if clinically indicated.

Electronically signed: Martin A. Feld, MD, 01/16/2014 16:41
"""
CT_2019_CONCLUSION = (
    "Interval progression of basilar panlobular emphysema since 01/16/2014 (15th percentile lung "
    "density -948 to -961 HU). No nodule or consolidation. Status post cholecystectomy."
)
CT_2019_REPORT = """\
RIVERSIDE MEDICAL CENTER - DEPARTMENT OF RADIOLOGY

EXAM: CT CHEST WITHOUT CONTRAST
DATE OF EXAM: 05/16/2019
PATIENT: DOYLE, MARGARET ELLEN   DOB: 04/12/1968   MRN: E4471902
ORDERING PHYSICIAN: Daniel R. Okafor, MD

CLINICAL INDICATION: Alpha-1 antitrypsin deficiency (Pi*ZZ) on augmentation therapy since
06/2015. Follow-up of emphysema.

TECHNIQUE: Same protocol as 01/16/2014, including quantitative densitometry.

COMPARISON: CT chest 01/16/2014.

FINDINGS:
Lungs and airways: Panlobular emphysema remains lower-lobe predominant and has progressed.
Low-attenuation areas below -950 HU now 23 % of total lung volume (previously 18 %); 15th
percentile lung density -961 HU (previously -948 HU). Stable mild upper-lobe centrilobular
emphysema. Mild bronchial wall thickening, no bronchiectasis. No nodule, mass or consolidation.
Pleura: No effusion or pneumothorax.
Mediastinum and heart: No lymphadenopathy. Normal heart size. Main pulmonary artery 27 mm.
Upper abdomen: Surgical clips in the gallbladder fossa (cholecystectomy). Liver contour smooth.
Bones: No aggressive lesion.

IMPRESSION:
1. Interval progression of basilar panlobular emphysema over 5 years (15th percentile lung
   density loss about 2.4 HU per year).
2. No pulmonary nodule.

Electronically signed: Martin A. Feld, MD, 05/16/2019 16:38
"""
US_2018_CONCLUSION = (
    "Cholelithiasis without sonographic evidence of acute cholecystitis; no biliary dilatation. "
    "Mildly coarsened hepatic echotexture without focal lesion or signs of portal hypertension."
)
US_2018_REPORT = """\
LAKESIDE MEDICAL CENTER - IMAGING SERVICES

EXAM: US ABDOMEN LIMITED (RIGHT UPPER QUADRANT)
DATE OF EXAM: 02/06/2018
PATIENT: DOYLE, MARGARET E   DOB: 04/12/1968   MRN: 00738215
ORDERING PHYSICIAN: Elena M. Vasquez, MD

CLINICAL INDICATION: Episodic post-prandial right upper quadrant pain. Alpha-1 antitrypsin
deficiency, Pi*ZZ.

COMPARISON: None available at this institution.

FINDINGS:
Liver: 15.2 cm in the midclavicular line. Smooth contour. Mildly coarsened echotexture. No focal
lesion. Main portal vein patent with hepatopetal flow.
Gallbladder: Multiple mobile shadowing gallstones, the largest 14 mm. Wall 2 mm. No
pericholecystic fluid. Sonographic Murphy sign negative.
Bile ducts: Common bile duct 4 mm. No intrahepatic ductal dilatation.
Pancreas: Visualised head and body unremarkable.
Spleen: 10.8 cm, homogeneous.
Right kidney: 10.9 cm, no hydronephrosis.
No ascites.

IMPRESSION:
1. Cholelithiasis without sonographic evidence of acute cholecystitis. No biliary dilatation.
2. Mildly coarsened hepatic echotexture without focal lesion or signs of portal hypertension;
   correlate with transient elastography.

Electronically signed: Sarah Lindqvist, MD, 02/06/2018 16:40
"""

NOTE_2013_03_14 = """\
RIVERSIDE PULMONARY ASSOCIATES - NEW PATIENT CONSULTATION
Patient: Margaret Ellen Doyle   DOB: 04/12/1968   MRN: E4471902
Date of service: 03/14/2013   Referred by: Karen L. Whitfield, MD (primary care)

CHIEF COMPLAINT: Breathless on exertion for about 18 months.

HISTORY OF PRESENT ILLNESS: Mrs. Doyle is a 44-year-old former smoker referred for progressive
exertional dyspnea. She now stops after one flight of stairs and has a morning cough with small
amounts of clear sputum. Two courses of antibiotics for "bronchitis" last winter. No hemoptysis,
weight loss, orthopnea or ankle swelling. She quit smoking in November 2012 after 20 pack-years.

PAST HISTORY: Told she had "asthma" as a child; no inhaler use as an adult. No known liver disease.
FAMILY HISTORY: Father died at 61 of "emphysema". A paternal uncle had cirrhosis, attributed to
alcohol.
SOCIAL HISTORY: Elementary school librarian. Married, two adult children. Wine 1-2 glasses a week.
ALLERGIES: Penicillin (hives).

EXAMINATION: BP 118/76, pulse 82, SpO2 96 % on room air, weight 71.2 kg, height 163 cm.
Diminished breath sounds at both bases, prolonged expiration, no wheeze, no clubbing, no edema.

SPIROMETRY TODAY (post-bronchodilator): FEV1 2.02 L (74 % predicted), FVC 3.18 L,
FEV1/FVC 64 %. DLCO 15.9 mL/min/mmHg (72 % predicted).

ASSESSMENT: Chronic obstructive pulmonary disease, GOLD 2, in a young former smoker with a
father who died of early emphysema. Alpha-1 antitrypsin deficiency must be excluded: every
patient with COPD should be tested once, and she is high risk.

PLAN:
1. Tiotropium 18 mcg inhaled once daily; albuterol HFA 2 puffs every 4-6 hours as needed.
2. Serum alpha-1 antitrypsin level ordered today.
3. Influenza vaccine every autumn; pneumococcal polysaccharide vaccine at the next visit.
4. Congratulated on quitting; relapse-prevention resources given.
5. Return in 6 months with spirometry.

Daniel R. Okafor, MD - Pulmonary and Critical Care Medicine
"""
NOTE_2014_03_13 = """\
RIVERSIDE PULMONARY ASSOCIATES - PROGRESS NOTE
Patient: Margaret Ellen Doyle   DOB: 04/12/1968   Date of service: 03/13/2014

SUBJECTIVE: Returns to review CT and alpha-1 antitrypsin results. The AAT level ordered in
03/2013 and again in 09/2013 was not drawn until her new insurance year began in January. Dyspnea
unchanged (mMRC 2). One exacerbation in January treated by primary care with doxycycline.
Using tiotropium daily and albuterol 3-4 times a week. No tobacco since 11/2012.

RESULTS:
- CT chest 01/16/2014: moderate panlobular emphysema, markedly lower-lobe predominant, mild
  upper-lobe centrilobular emphysema, no nodules.
- Serum alpha-1 antitrypsin 01/30/2014: 22 mg/dL (reference 100-200).
- Phenotype (isoelectric focusing) 02/14/2014: Pi*ZZ. SERPINA1 genotyping: homozygous Z.
- Spirometry today: FEV1 1.93 L (71 % predicted), FEV1/FVC 62 %. 90 mL below 03/2013.

ASSESSMENT:
1. Alpha-1 antitrypsin deficiency, Pi*ZZ (severe deficiency), with basilar panlobular emphysema.
   This explains the early onset, the distribution on CT and her father's history.
2. COPD, GOLD 2, group B.

PLAN:
1. Long discussion of AATD: co-dominant inheritance, lung and liver involvement, augmentation
   therapy. Alpha-1 Foundation materials given.
2. Testing recommended for her two children and her siblings; genetic counselling referral.
3. Referral to Lakeside Hepatology for baseline liver assessment and hepatitis A and B vaccination
   (also advisable before any plasma-derived therapy).
4. Augmentation: FEV1 is 71 % predicted, above the usual 30-65 % range. Repeat spirometry every
   6 months and start augmentation if FEV1 falls quickly. IgA level with the next blood test.
5. Pulmonary rehabilitation referral. Continue tiotropium and albuterol.

Daniel R. Okafor, MD - Pulmonary and Critical Care Medicine
"""
NOTE_2015_04_16 = """\
RIVERSIDE PULMONARY ASSOCIATES - PROGRESS NOTE
Patient: Margaret Ellen Doyle   DOB: 04/12/1968   Date of service: 04/16/2015

SUBJECTIVE: Harder winter. Two exacerbations (12/2014 and 02/2015) treated with prednisone and
doxycycline by primary care. Now breathless after 100 m on the flat (mMRC 3). Completed pulmonary
rehabilitation in autumn 2014 and walks 20 minutes most days. Hepatitis A and B series completed
at Lakeside Hepatology in 12/2014; liver tests normal there. Still tobacco-free.

SPIROMETRY TODAY: FEV1 1.64 L (61 % predicted), FVC 2.90 L, FEV1/FVC 57 %. FEV1 was 1.87 L on
10/09/2014: a fall of 230 mL (12 %) in six months, against about 100 mL a year before.
DLCO 13.8 mL/min/mmHg (63 % predicted).
LABS: AAT 24 mg/dL. IgA 182 mg/dL (normal; no IgA deficiency).

ASSESSMENT: Pi*ZZ alpha-1 antitrypsin deficiency with emphysema and rapid loss of lung function
despite smoking abstinence and bronchodilator therapy. FEV1 is now 61 % predicted. Augmentation
therapy is indicated; registry data show slower FEV1 decline in treated patients in this range.

PLAN:
1. Start alpha-1 proteinase inhibitor (human), Prolastin-C Liquid 60 mg/kg (4,000 mg) IV once
   weekly through Riverside Home Infusion; prior authorization submitted. First infusion planned
   for early June.
2. Trough AAT level in 6 months (drawn before an infusion).
3. Continue tiotropium and albuterol; written COPD action plan reviewed.
4. Return in 6 months with spirometry.

Daniel R. Okafor, MD - Pulmonary and Critical Care Medicine
"""
DISCHARGE_2016_08 = """\
RIVERSIDE MEDICAL CENTER - DISCHARGE SUMMARY
Patient: Margaret Ellen Doyle   DOB: 04/12/1968   MRN: E4471902
Admitted: 08/03/2016   Discharged: 08/07/2016   Attending: Priya Raman, MD (Hospital Medicine)

PRINCIPAL DIAGNOSIS: Acute exacerbation of COPD, rhinovirus infection.
SECONDARY DIAGNOSES: Alpha-1 antitrypsin deficiency, Pi*ZZ, on weekly augmentation; panlobular
emphysema; penicillin allergy (hives).

HOSPITAL COURSE: 48-year-old woman who came to the ED with four days of increasing dyspnea,
purulent sputum and fever to 38.3 C after a cold. SpO2 86 % on room air, respiratory rate 28.
Venous blood gas pH 7.36, pCO2 49 mmHg. Chest radiograph: hyperinflation, no consolidation.
Respiratory viral panel positive for rhinovirus/enterovirus. Treated with nebulised albuterol and
ipratropium, methylprednisolone 40 mg IV every 12 hours for 48 hours then oral prednisone, and
azithromycin for 3 days (penicillin allergy). Oxygen 2 L/min by nasal cannula until day 3.
At discharge SpO2 92 % on room air at rest and 90 % walking; home oxygen not required.
The weekly Prolastin-C infusion due 08/04 was held while in hospital; resume at home 08/11.

DISCHARGE MEDICATIONS: Prednisone 40 mg daily for 2 more days (5-day total course). Continue
tiotropium 18 mcg daily, albuterol as needed, Prolastin-C 60 mg/kg IV weekly.

FOLLOW-UP: Primary care within 7 days. Pulmonology (Dr. Okafor) in 3 months with spirometry.
Return to the ED for worsening breathlessness, chest pain or confusion.

Priya Raman, MD - Hospital Medicine
"""
NOTE_2016_11_10 = """\
RIVERSIDE PULMONARY ASSOCIATES - PROGRESS NOTE
Patient: Margaret Ellen Doyle   DOB: 04/12/1968   Date of service: 11/10/2016

SUBJECTIVE: Admitted 08/03-08/07/2016 for a rhinovirus-triggered exacerbation (discharge summary
reviewed). Back to her baseline by September and walking daily again. Tolerating weekly
Prolastin-C at home without reactions; missed only the dose during admission.

SPIROMETRY TODAY: FEV1 1.52 L (57 % predicted), FEV1/FVC 54 %. 70 mL below 04/2016, as often
seen after an exacerbation. Trough AAT 82 mg/dL in 10/2015.
Blood eosinophils 100 cells/uL (08/2016).

ASSESSMENT: Pi*ZZ AATD with emphysema on augmentation. COPD, one hospitalised exacerbation this
year.

PLAN:
1. Continue Prolastin-C 60 mg/kg IV weekly, tiotropium and albuterol.
2. Inhaled corticosteroid not added: eosinophils low and pneumonia risk. Discussed adding a
   long-acting beta-agonist; she prefers to keep the current regimen for now.
3. 13-valent pneumococcal conjugate vaccine given today (PPSV23 was given 09/2013).
4. Early-exacerbation action plan reviewed. Return in 6 months with spirometry.

Daniel R. Okafor, MD - Pulmonary and Critical Care Medicine
"""
NOTE_2019_12_05 = """\
RIVERSIDE PULMONARY ASSOCIATES - PROGRESS NOTE
Patient: Margaret Ellen Doyle   DOB: 04/12/1968   Date of service: 12/05/2019

SUBJECTIVE: Visit to plan a change of augmentation product. Her insurer's 2020 formulary covers
Zemaira and no longer Prolastin-C. No exacerbations this year. Laparoscopic cholecystectomy at
Lakeside Medical Center in 04/2018 went well. Hepatology follows her liver yearly.

DATA: FEV1 1.42 L (05/2019). CT chest 05/16/2019: progression of basilar panlobular emphysema
(15th percentile lung density -948 HU in 2014, -961 HU in 2019). Trough AAT 79 mg/dL (05/2019).

ASSESSMENT: Pi*ZZ AATD with emphysema, stable on augmentation; decline since 2016 about
40 mL a year, compared with 230 mL over six months before treatment.

PLAN:
1. Stop Prolastin-C after the infusion of 12/26/2019.
2. Start Zemaira (alpha-1 proteinase inhibitor, human) 60 mg/kg IV weekly from 01/02/2020, same
   home-infusion nurse; the first infusion is supervised with observation for 30 minutes.
3. Trough AAT level 6-9 months after the switch.
4. Continue tiotropium and albuterol. Influenza vaccine given 10/03/2019.

Daniel R. Okafor, MD - Pulmonary and Critical Care Medicine
"""
NOTE_2022_03_03 = """\
RIVERSIDE PULMONARY ASSOCIATES - PROGRESS NOTE
Patient: Margaret Ellen Doyle   DOB: 04/12/1968   Date of service: 03/03/2022

SUBJECTIVE: Seen in the Riverside ED on 02/14/2022 with an exacerbation after a cold: SpO2 89 %,
rhinovirus positive, SARS-CoV-2 PCR negative, chest radiograph clear. Treated with nebulised
bronchodilators, prednisone 40 mg daily for 5 days and doxycycline 100 mg twice daily for 5 days,
and discharged the same night. Now close to baseline; mild residual cough.
Three doses of COVID-19 mRNA vaccine in 2021. Zemaira weekly since 01/2020, no infusion reactions.

EXAMINATION: SpO2 94 % on room air. Scattered expiratory wheeze at the bases only.

ASSESSMENT: Resolving exacerbation of COPD in Pi*ZZ AATD; second exacerbation needing emergency
care in six years.

PLAN:
1. Continue Zemaira 60 mg/kg IV weekly, tiotropium and albuterol.
2. Renewed discussion of LAMA/LABA; she will consider it if another exacerbation occurs.
3. Masking in crowded places during the respiratory season; hand hygiene.
4. Spirometry and trough AAT level in June.

Daniel R. Okafor, MD - Pulmonary and Critical Care Medicine
"""
NOTE_2025_06_12 = """\
RIVERSIDE PULMONARY ASSOCIATES - PROGRESS NOTE
Patient: Margaret Ellen Doyle   DOB: 04/12/1968   Date of service: 06/12/2025

SUBJECTIVE: Annual review. 57 years old. Breathless after about 150 m on the flat (mMRC 2).
No exacerbation since 02/2022. Weekly Zemaira at home, no reactions. Walks most days.
Hepatology (Lakeside, 03/2025): liver tests stable; liver stiffness 7.8 kPa in 08/2023.

SPIROMETRY TODAY: FEV1 1.17 L (47 % predicted), FVC 2.55 L, FEV1/FVC 46 %.
FEV1 series: 2.02 L (2013), 1.87 L (10/2014), 1.64 L (04/2015, augmentation started 06/2015),
1.52 L (11/2016), 1.37 L (2020), 1.17 L today: about 40 mL a year since 2016.
Trough AAT 91 mg/dL (06/2024).

ASSESSMENT: Pi*ZZ alpha-1 antitrypsin deficiency with panlobular emphysema, COPD GOLD 3,
stable on augmentation therapy for ten years. Liver: mild fibrosis at most, followed by
hepatology.

PLAN:
1. Continue Zemaira 60 mg/kg IV weekly, tiotropium and albuterol.
2. Pulmonary rehabilitation refresher course.
3. Influenza vaccine in the autumn.
4. Discussed lung transplant evaluation: not yet indicated; revisit if FEV1 falls below 25-30 %
   predicted or exacerbations become frequent.
5. Return in 6 months; spirometry yearly.

Daniel R. Okafor, MD - Pulmonary and Critical Care Medicine
"""
HEPATOLOGY_2014_06_19 = """\
LAKESIDE HEPATOLOGY ASSOCIATES - NEW PATIENT CONSULTATION
Patient: DOYLE, MARGARET E   DOB: 04/12/1968   MRN: 00738215   Date of service: 06/19/2014
Referred by: Daniel R. Okafor, MD (Riverside Pulmonary Associates)

REASON FOR CONSULTATION: Liver evaluation in newly diagnosed alpha-1 antitrypsin deficiency,
Pi*ZZ.

HISTORY: 46-year-old woman diagnosed in 02/2014 (serum AAT 22 mg/dL, phenotype Pi*ZZ) after CT
showed basilar panlobular emphysema. No jaundice, pruritus, gastrointestinal bleeding or
abdominal swelling. No neonatal jaundice known. Occasional right upper quadrant discomfort after
fatty meals. Wine 1-2 glasses a week. No herbal supplements. Former smoker.

EXAMINATION: Weight 70.1 kg, BMI 26.4. No stigmata of chronic liver disease. Liver span 10 cm,
spleen not palpable. No ascites.

LABS TODAY: ALT 34 U/L, AST 29 U/L, total bilirubin 0.7 mg/dL, albumin 4.3 g/dL, platelets
231 x10^3/uL, INR 1.0. Hepatitis A IgG negative, HBsAg negative, anti-HBs negative, HCV antibody
negative.

ASSESSMENT: Pi*ZZ alpha-1 antitrypsin deficiency without clinical or biochemical evidence of liver
disease. Retention of Z-protein polymers in hepatocytes carries a lifetime risk of fibrosis,
cirrhosis and hepatocellular carcinoma; risk is higher with obesity, alcohol and male sex.
Augmentation therapy neither treats nor worsens the liver disease.

PLAN:
1. Hepatitis A (2 doses) and hepatitis B (3 doses) vaccination; first doses given today.
2. Baseline transient elastography at the December visit.
3. Liver tests yearly; ultrasound if enzymes rise or symptoms recur.
4. Keep alcohol to a minimum; maintain a healthy weight.

Elena M. Vasquez, MD - Hepatology
"""
HEPATOLOGY_2023_08_17 = """\
LAKESIDE HEPATOLOGY ASSOCIATES - PROGRESS NOTE
Patient: DOYLE, MARGARET E   DOB: 04/12/1968   MRN: 00738215   Date of service: 08/17/2023

INTERVAL HISTORY: Laparoscopic cholecystectomy 04/10/2018 for symptomatic gallstones; liver
looked smooth at surgery. GERD on omeprazole. Zemaira weekly since 01/2020 (Riverside
Pulmonary). No jaundice, pruritus or bleeding. Alcohol: rarely.

EXAMINATION: Weight 64.6 kg. No stigmata of chronic liver disease. No splenomegaly.

LABS TODAY: ALT 37 U/L, AST 36 U/L, total bilirubin 0.8 mg/dL, albumin 4.1 g/dL, platelets
198 x10^3/uL.

TRANSIENT ELASTOGRAPHY TODAY: median liver stiffness 7.8 kPa (IQR/median 14 %, 10 valid
measurements); baseline 5.6 kPa in 12/2014.

ASSESSMENT: Pi*ZZ alpha-1 antitrypsin deficiency with a rise in liver stiffness suggesting mild to
moderate fibrosis (F1-F2 range); no features of cirrhosis or portal hypertension. Minimal
aminotransferase elevation.

PLAN:
1. Repeat liver tests in 12-18 months and elastography in 2 years.
2. Hepatocellular carcinoma surveillance not indicated without cirrhosis; revisit if stiffness
   exceeds 12-15 kPa.
3. Avoid alcohol; keep weight stable.

Elena M. Vasquez, MD - Hepatology
"""
