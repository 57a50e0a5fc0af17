package securityinfo

import (
	"bytes"
	"crypto/elliptic"
	"testing"

	"github.com/osanderson/brainpool"

	"github.com/cccd-project/cccd/smartcard/bp256"
	"github.com/cccd-project/cccd/smartcard/icaotest"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// DG14 files read from real passports, published as test data of the gmrtd reader
// (github.com/gmrtd/gmrtd, document/dg14_test.go). They hold Chip Authentication keys with
// EXPLICIT brainpool domain parameters, which is what foreign chips look like.
var realDG14 = []struct {
	name     string
	hex      string
	curve    func() elliptic.Curve
	pace, ca int
	sorted   bool // the SET is in DER order, so Marshal reproduces it byte for byte
}{
	{"AT passport", "6e82017e3182017a300d060804007f0007020202020101300f060a04007f000702020302020201013012060a04007f0007020204020202010202010d30820142060904007f000702020102308201333081ec06072a8648ce3d02013081e0020101302c06072a8648ce3d0101022100a9fb57dba1eea9bc3e660a909d838d726e3bf623d52620282013481d1f6e5377304404207d5a0975fc2c3057eef67530417affe7fb8055c126dc5c6ce94a4b44f330b5d9042026dc5c6ce94a4b44f330b5d9bbd77cbf958416295cf7e1ce6bccdc18ff8c07b60441048bd2aeb9cb7e57cb2c4b482ffc81b7afb9de27e1e3bd23c23a4453bd9ace3262547ef835c3dac4fd97f8461a14611dc9c27745132ded8e545c1d54c72f046997022100a9fb57dba1eea9bc3e660a909d838d718c397aa3b561a6f7901e0e82974856a7020101034200041983917269ac877c0b61544c2c022000d2a5aba723e2d80141e648b40911dc3459761f27480e4b57181a53d8fe1190ea86c939ac14363178caffc621f0f905c3",
		bp256.P256r1, 1, 1, true},
	{"MY passport", "6e82016a3182016630820142060904007f000702020102308201333081ec06072a8648ce3d02013081e0020101302c06072a8648ce3d0101022100a9fb57dba1eea9bc3e660a909d838d726e3bf623d52620282013481d1f6e5377304404207d5a0975fc2c3057eef67530417affe7fb8055c126dc5c6ce94a4b44f330b5d9042026dc5c6ce94a4b44f330b5d9bbd77cbf958416295cf7e1ce6bccdc18ff8c07b60441048bd2aeb9cb7e57cb2c4b482ffc81b7afb9de27e1e3bd23c23a4453bd9ace3262547ef835c3dac4fd97f8461a14611dc9c27745132ded8e545c1d54c72f046997022100a9fb57dba1eea9bc3e660a909d838d718c397aa3b561a6f7901e0e82974856a702010103420004a04f85afdfc316fb5e9f33f94ca45837d20d9d91ad5002307c3f124b6ef5b92565d018a6b7f69db73976bfbb4278757405c64e96104d161649e8a94078eaefce300f060a04007f00070202030201020101300d060804007f0007020202020101",
		bp256.P256r1, 0, 1, false},
	{"brainpoolP384r1 with PACE-IM and PACE-CAM", "6e82021431820210308201c4060904007f000702020102308201b53082014d06072a8648ce3d020130820140020101303c06072a8648ce3d01010231008cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b412b1da197fb71123acd3a729901d1a71874700133107ec53306404307bc382c63d8c150c3c72080ace05afa0c2bea28e4fb22787139165efba91f90f8aa5814a503ad4eb04a8c7dd22ce2826043004a8c7dd22ce28268b39b55416f0447c2fb77de107dcd2a62e880ea53eeb62d57cb4390295dbc9943ab78696fa504c110461041d1c64f068cf45ffa2a63a81b7c13f6b8847a3e77ef14fe3db7fcafe0cbd10e8e826e03436d646aaef87b2e247d4af1e8abe1d7520f9c2a45cb1eb8e95cfd55262b70b29feec5864e19c054ff99129280e4646217791811142820341263c53150231008cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b31f166e6cac0425a7cf3ab6af6b7fc3103b883202e9046565020101036200047777b5202c812ea334f4295b6ae711f70cc77ca43a53560569603cb92fb55c084d714bcf291f3c4dbb8ead1278fca88c3d6adebd71f9e2de90cb0450f8ab7cdcba5af6752eb3c57ea7d5f126e21c10cedd0fcb6d7ff2f57a713306e59882b51d300f060a04007f00070202030204020101300d060804007f00070202020201013012060a04007f000702020402040201020201103012060a04007f00070202040604020102020110",
		brainpool.P384r1, 2, 1, false},
}

func TestRealDG14(t *testing.T) {
	for _, tc := range realDG14 {
		t.Run(tc.name, func(t *testing.T) {
			dg14, err := tlv.Decode(icaotest.Unhex(t, tc.hex))
			if err != nil || dg14.Tag != 0x6E {
				t.Fatalf("DG14 wrapper: tag %v, %v", dg14.Tag, err)
			}
			infos, err := Parse(dg14.Value)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(infos.PACE()); n != tc.pace {
				t.Errorf("%d PACEInfos, want %d", n, tc.pace)
			}
			if n := len(infos.ChipAuthentication()); n != tc.ca {
				t.Errorf("%d ChipAuthenticationInfos, want %d", n, tc.ca)
			}
			if infos.TerminalAuthentication() == nil {
				t.Error("TerminalAuthenticationInfo missing")
			}
			pks := infos.ChipAuthenticationPublicKeys()
			if len(pks) != 1 {
				t.Fatalf("%d ChipAuthenticationPublicKeyInfos, want 1", len(pks))
			}
			curve, x, y, err := pks[0].ECPublicKey()
			if err != nil {
				t.Fatal(err)
			}
			if curve != tc.curve() || !curve.IsOnCurve(x, y) {
				t.Fatalf("CA key on %s, want %s", curve.Params().Name, tc.curve().Params().Name)
			}
			for _, ca := range infos.ChipAuthentication() {
				if _, _, err := ProtocolCipher(ca.Protocol); err != nil {
					t.Errorf("CA protocol: %v", err)
				}
			}
			der, err := infos.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if tc.sorted && !bytes.Equal(der, dg14.Value) {
				t.Fatalf("Marshal does not reproduce the chip's SET\n got %X\nwant %X", der, dg14.Value)
			}
			if len(der) != len(dg14.Value) {
				t.Fatalf("Marshal gives %d bytes, chip had %d", len(der), len(dg14.Value))
			}
		})
	}
}
