// Package vchip is a virtual CCCD chip: a contactless ISO/IEC 7816-4 card carrying the
// ICAO 9303 eMRTD application (ICAO 9303-10 file layout, ICAO 9303-11 access control),
// plus this project's personalization profile for the blank chip. It serves tests (an
// in-process Transport) and the vpcd bridge (Process takes and returns raw APDU bytes).
// A card is a file (Save, Load); the private keys in it are the chip's secure memory.
//
// # File system
//
//	MF (3F00)
//	├── EF.CardAccess 011C   readable in the clear, always
//	└── DF eMRTD  AID A0 00 00 02 47 10 01
//	    ├── EF.COM 011E, EF.SOD 011D
//	    └── DG1..DG16 0101..0110
//
// SELECT by AID (P1 04), by FID (P1 00 or 02; an EF is searched in the current DF and
// then its parent), SELECT MF (answers 6D00 when Options.SelectMFUnsupported, as some
// issued CCCD chips do). READ BINARY B0 with a 15-bit offset or a short EF identifier in
// P1 (SFI = low 5 bits of the FID), B1 with offset DO 54 and the answer in DO 53, short
// or extended Le. GET CHALLENGE (84).
//
// # Personalization profile (blank chip, before LOCK)
//
//	CREATE FILE        00 E0 00 00  62{80 size(1-2), [82 01 01], 83 FID}
//	                   EF.CardAccess goes in the MF, every other FID in the eMRTD DF.
//	UPDATE BINARY      00 D6 P1P2 = offset (or 80|SFI, offset) data
//	                   00 D7 00 00  54{offset} 53{data}, for offsets above 7FFF;
//	                   short or extended Lc.
//	PUT DATA           80 DA 00 C1  MRZ key: SHA-1 of the MRZ information (document
//	                   number, birth date, expiry date with their check digits), 20
//	                   bytes. Its first 16 bytes are the BAC key seed K_seed (ICAO
//	                   9303-11 §9.7.2), all 20 are the PACE MRZ secret f(pi) (§4.4.3.1).
//	                   80 DA 00 C2  CAN, 6 ASCII digits.
//	GENERATE ASYMMETRIC KEY PAIR
//	                   00 47 80 00  84 01 01: Active Authentication key, ECDSA P-256
//	                   00 47 80 00  84 01 02 [06 curve OID]: Chip Authentication key,
//	                   ECDH brainpoolP256r1 unless P-256 is named.
//	                   The answer is the public key only, as a DER SubjectPublicKeyInfo.
//	                   Generating again replaces the key.
//	GET DATA           80 CA 00 C0  chip serial, ASCII (allowed in every state).
//	LOCK               00 44 00 00 [3F00]: ACTIVATE FILE on the MF (ISO 7816-9 §8.3);
//	                   needs the MRZ key. Irreversible.
//
// After LOCK every personalization command answers 6985, and access control holds: the
// eMRTD files need a secure messaging session from BAC or PACE (6982 otherwise), DG3
// always answers 6982 (Terminal Authentication is not offered), EF.CardAccess stays
// free.
//
// # Access control and authentication (ICAO 9303-11)
//
// BAC (GET CHALLENGE, EXTERNAL AUTHENTICATE, §4.3), PACE with MRZ or CAN (MSE:Set AT,
// GENERAL AUTHENTICATE, §4.4; the parameters come from EF.CardAccess, by default
// ECDH generic mapping, brainpoolP256r1, AES-128), Chip Authentication (MSE:Set KAT, or
// MSE:Set AT + GENERAL AUTHENTICATE, §6.2) and Active Authentication (INTERNAL
// AUTHENTICATE, §6.1). Every command after access control is under secure messaging
// (§9.8); a plain command ends the session. Each consecutive failed BAC or PACE attempt
// is answered after a delay that starts at 100 ms and doubles up to 10 s; a success
// resets it. The counter is persistent, like a chip's.
//
// # Faults
//
// SetFaults injects a card tear (Process returns nothing and a write is left half done),
// a corrupted response, or slow writes; SetSleep replaces the clock of every delay.
package vchip
