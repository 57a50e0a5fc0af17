package lds

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image/jpeg"

	"github.com/cccd-project/cccd/smartcard/tlv"
)

// Gender is the facial information block's gender (ISO/IEC 19794-5:2005 §5.5.3).
type Gender byte

// Gender values.
const (
	GenderUnspecified Gender = 0x00
	GenderMale        Gender = 0x01
	GenderFemale      Gender = 0x02
	GenderUnknown     Gender = 0xFF
)

// EyeColour is the facial information block's eye colour (ISO/IEC 19794-5:2005 §5.5.4).
type EyeColour byte

// EyeColour values.
const (
	EyeUnspecified EyeColour = 0x00
	EyeBlack       EyeColour = 0x01
	EyeBlue        EyeColour = 0x02
	EyeBrown       EyeColour = 0x03
	EyeGrey        EyeColour = 0x04
	EyeGreen       EyeColour = 0x05
	EyeMultiColour EyeColour = 0x06
	EyePink        EyeColour = 0x07
	EyeUnknown     EyeColour = 0xFF
)

// HairColour is the facial information block's hair colour (ISO/IEC 19794-5:2005 §5.5.5).
type HairColour byte

// HairColour values.
const (
	HairUnspecified HairColour = 0x00
	HairBald        HairColour = 0x01
	HairBlack       HairColour = 0x02
	HairBlonde      HairColour = 0x03
	HairBrown       HairColour = 0x04
	HairGrey        HairColour = 0x05
	HairWhite       HairColour = 0x06
	HairRed         HairColour = 0x07
	HairUnknown     HairColour = 0xFF
)

// Expression is the facial information block's expression (ISO/IEC 19794-5:2005 §5.5.7).
type Expression uint16

// Expression values.
const (
	ExpressionUnspecified Expression = 0
	ExpressionNeutral     Expression = 1
	ExpressionSmileClosed Expression = 2
	ExpressionSmileOpen   Expression = 3
)

// ImageType is the image information block's face image type (ISO/IEC 19794-5:2005 §5.7.1).
type ImageType byte

// ImageType values.
const (
	ImageBasic        ImageType = 0x00
	ImageFullFrontal  ImageType = 0x01
	ImageTokenFrontal ImageType = 0x02
)

// ImageDataType is the compression of the image data (ISO/IEC 19794-5:2005 §5.7.2).
type ImageDataType byte

// ImageDataType values.
const (
	ImageDataJPEG     ImageDataType = 0x00
	ImageDataJPEG2000 ImageDataType = 0x01
)

// ColourSpace is the image information block's colour space (ISO/IEC 19794-5:2005 §5.7.5).
type ColourSpace byte

// ColourSpace values.
const (
	ColourUnspecified ColourSpace = 0x00
	ColourRGB24       ColourSpace = 0x01
	ColourYUV422      ColourSpace = 0x02
	ColourGrey8       ColourSpace = 0x03
	ColourOther       ColourSpace = 0x04
)

// SourceType is the image information block's source type (ISO/IEC 19794-5:2005 §5.7.6).
type SourceType byte

// SourceType values.
const (
	SourceUnspecified   SourceType = 0x00
	SourceStaticUnknown SourceType = 0x01
	SourceStaticDigital SourceType = 0x02
	SourceStaticScan    SourceType = 0x03
	SourceVideoUnknown  SourceType = 0x04
	SourceVideoAnalogue SourceType = 0x05
	SourceVideoDigital  SourceType = 0x06
	SourceUnknown       SourceType = 0x07
)

// FeaturePoint is one facial landmark (ISO/IEC 19794-5:2005 §5.6).
type FeaturePoint struct {
	Type     byte   // 1 = MPEG-4 feature point
	Code     byte   // major code in the high nibble, minor code in the low nibble
	X, Y     uint16 // pixels from the top left corner
	Reserved uint16
}

// FaceImage is one facial record of DG2: the ISO/IEC 19794-5:2005 facial information and
// image information blocks and the image itself.
type FaceImage struct {
	JPEG          []byte        // the image file: JPEG; from foreign documents JPEG 2000 when ImageDataType says so
	ImageDataType ImageDataType // compression; the encoder only writes ImageDataJPEG
	Width, Height int           // pixels; 0 means "take them from the JPEG"
	ImageType     ImageType     // ImageFullFrontal for a document portrait
	ColourSpace   ColourSpace
	SourceType    SourceType
	DeviceType    uint16 // vendor-assigned capture device, 0 = unspecified
	Quality       uint16 // 0 = unspecified

	Gender               Gender
	EyeColour            EyeColour
	HairColour           HairColour
	FeatureMask          uint32 // 24 bits (§5.5.6)
	Expression           Expression
	PoseAngle            [3]byte // yaw, pitch, roll encoded as in §5.5.8; 0 = unspecified
	PoseAngleUncertainty [3]byte
	FeaturePoints        []FeaturePoint
}

// Fixed parts of the ISO/IEC 19794-5:2005 record (§5.4, §5.5, §5.7).
const (
	faceHeaderLen    = 14
	faceInfoLen      = 20
	featurePointLen  = 8
	imageInfoLen     = 12
	maxFeaturePoints = 0xFFFF
)

var (
	faceFormatID = []byte("FAC\x00")
	faceVersion  = []byte("010\x00")
)

// CBEFF biometric header template values for a face (ICAO 9303-10 §4.7.2.1, NISTIR 6529-A).
var (
	bhtVersion     = []byte{0x01, 0x01} // ICAO header version 1.1
	bhtTypeFace    = []byte{0x02}       // biometric type: facial features
	bhtSubtype     = []byte{0x00}       // no information given
	bhtFormatOwner = []byte{0x01, 0x01} // ISO/IEC JTC 1/SC 37
	bhtFormatType  = []byte{0x00, 0x08} // ISO/IEC 19794-5
)

// EncodeDG2 returns DG2 holding one facial record (ICAO 9303-10 §4.7.2):
//
//	75 { 7F61 { 02 01 01, 7F60 { A1 { 80 0101, 81 02, 82 00, 87 0101, 88 0008 }, 5F2E { ISO/IEC 19794-5 record } } } }
//
// The image must be a JPEG; Width and Height are filled from it when zero and must match it otherwise.
func EncodeDG2(f FaceImage) ([]byte, error) {
	rec, err := f.record()
	if err != nil {
		return nil, invalid("dg2: %w", err)
	}
	var bht []byte
	bht = append(bht, tlv.Encode(0x80, bhtVersion)...)
	bht = append(bht, tlv.Encode(0x81, bhtTypeFace)...)
	bht = append(bht, tlv.Encode(0x82, bhtSubtype)...)
	bht = append(bht, tlv.Encode(0x87, bhtFormatOwner)...)
	bht = append(bht, tlv.Encode(0x88, bhtFormatType)...)
	bit := append(tlv.Encode(0xA1, bht), tlv.Encode(0x5F2E, rec)...)
	group := append(tlv.Encode(0x02, []byte{1}), tlv.Encode(0x7F60, bit)...)
	return tlv.Encode(0x75, tlv.Encode(0x7F61, group)), nil
}

// record builds the ISO/IEC 19794-5:2005 facial record (§5.4-§5.8) with one image.
func (f FaceImage) record() ([]byte, error) {
	if f.ImageDataType != ImageDataJPEG {
		return nil, fmt.Errorf("image data type %d: only JPEG (0) is written", f.ImageDataType)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(f.JPEG))
	if err != nil {
		return nil, fmt.Errorf("image is not a JPEG: %w", err)
	}
	switch {
	case f.Width == 0 && f.Height == 0:
		f.Width, f.Height = cfg.Width, cfg.Height
	case f.Width != cfg.Width || f.Height != cfg.Height:
		return nil, fmt.Errorf("size %dx%d does not match the JPEG's %dx%d", f.Width, f.Height, cfg.Width, cfg.Height)
	}
	if f.Width > 0xFFFF || f.Height > 0xFFFF {
		return nil, fmt.Errorf("size %dx%d exceeds 65535 pixels", f.Width, f.Height)
	}
	if f.FeatureMask > 0xFFFFFF {
		return nil, fmt.Errorf("feature mask %#x exceeds 24 bits", f.FeatureMask)
	}
	if len(f.FeaturePoints) > maxFeaturePoints {
		return nil, fmt.Errorf("%d feature points exceed %d", len(f.FeaturePoints), maxFeaturePoints)
	}
	dataLen := faceInfoLen + featurePointLen*len(f.FeaturePoints) + imageInfoLen + len(f.JPEG)
	total := faceHeaderLen + dataLen
	if uint64(total) > 0xFFFFFFFF || total > tlv.MaxLength-64 {
		return nil, fmt.Errorf("record of %d bytes is too long", total)
	}
	b := make([]byte, 0, total)
	// Facial record header (§5.4).
	b = append(b, faceFormatID...)
	b = append(b, faceVersion...)
	b = binary.BigEndian.AppendUint32(b, uint32(total))
	b = binary.BigEndian.AppendUint16(b, 1)
	// Facial information block (§5.5).
	b = binary.BigEndian.AppendUint32(b, uint32(dataLen))
	b = binary.BigEndian.AppendUint16(b, uint16(len(f.FeaturePoints)))
	b = append(b, byte(f.Gender), byte(f.EyeColour), byte(f.HairColour))
	b = append(b, byte(f.FeatureMask>>16), byte(f.FeatureMask>>8), byte(f.FeatureMask))
	b = binary.BigEndian.AppendUint16(b, uint16(f.Expression))
	b = append(b, f.PoseAngle[:]...)
	b = append(b, f.PoseAngleUncertainty[:]...)
	// Feature points (§5.6).
	for _, p := range f.FeaturePoints {
		b = append(b, p.Type, p.Code)
		b = binary.BigEndian.AppendUint16(b, p.X)
		b = binary.BigEndian.AppendUint16(b, p.Y)
		b = binary.BigEndian.AppendUint16(b, p.Reserved)
	}
	// Image information block (§5.7) and image data (§5.8).
	b = append(b, byte(f.ImageType), byte(f.ImageDataType))
	b = binary.BigEndian.AppendUint16(b, uint16(f.Width))
	b = binary.BigEndian.AppendUint16(b, uint16(f.Height))
	b = append(b, byte(f.ColourSpace), byte(f.SourceType))
	b = binary.BigEndian.AppendUint16(b, f.DeviceType)
	b = binary.BigEndian.AppendUint16(b, f.Quality)
	return append(b, f.JPEG...), nil
}

// ParseDG2 decodes DG2 holding exactly one biometric information template with one facial
// image (ICAO 9303-10 §4.7.2). Every length inside the ISO/IEC 19794-5 record is checked
// against the bytes present; the CBEFF header must name a face in ISO/IEC 19794-5 format.
// The image bytes are returned as they are, after a check of the JPEG or JPEG 2000 signature.
func ParseDG2(b []byte) (FaceImage, error) {
	v, err := unwrap(b, 0x75, "dg2")
	if err != nil {
		return FaceImage{}, err
	}
	group, err := unwrap(v, 0x7F61, "dg2 biometric information group")
	if err != nil {
		return FaceImage{}, err
	}
	t, count, rest, err := tlv.Next(group)
	if err != nil || t != 0x02 || len(count) != 1 {
		return FaceImage{}, malformed("dg2: biometric information group must start with 02 01 <count>")
	}
	if count[0] != 1 {
		return FaceImage{}, malformed("dg2: %d biometric information templates, want 1", count[0])
	}
	bit, err := unwrap(rest, 0x7F60, "dg2 biometric information template")
	if err != nil {
		return FaceImage{}, err
	}
	t, bht, rest, err := tlv.Next(bit)
	if err != nil || t != 0xA1 {
		return FaceImage{}, malformed("dg2: biometric header template A1 missing")
	}
	if err := checkBHT(bht); err != nil {
		return FaceImage{}, err
	}
	rec, err := unwrap(rest, 0x5F2E, "dg2 biometric data block")
	if err != nil {
		return FaceImage{}, err
	}
	return parseFaceRecord(rec)
}

// checkBHT checks the CBEFF biometric header template (ICAO 9303-10 §4.7.2.1), in any order.
func checkBHT(bht []byte) error {
	objs, err := tlv.Parse(bht)
	if err != nil {
		return malformed("dg2 biometric header: %w", err)
	}
	seen := map[tlv.Tag]bool{}
	for _, o := range objs {
		if seen[o.Tag] {
			return malformed("dg2 biometric header: tag %s twice", o.Tag)
		}
		seen[o.Tag] = true
		var want []byte
		switch o.Tag {
		case 0x80:
			want = bhtVersion
		case 0x81:
			want = bhtTypeFace
		case 0x87:
			want = bhtFormatOwner
		case 0x88:
			want = bhtFormatType
		case 0x82, 0x83, 0x85, 0x86:
			continue // subtype, creation date, validity period, creator: informative
		default:
			return malformed("dg2 biometric header: unexpected tag %s", o.Tag)
		}
		if !bytes.Equal(o.Value, want) {
			return malformed("dg2 biometric header: tag %s is % X, want % X", o.Tag, o.Value, want)
		}
	}
	for _, tag := range []tlv.Tag{0x80, 0x87, 0x88} {
		if !seen[tag] {
			return malformed("dg2 biometric header: tag %s missing", tag)
		}
	}
	return nil
}

// parseFaceRecord decodes an ISO/IEC 19794-5:2005 record holding one facial image.
func parseFaceRecord(r []byte) (FaceImage, error) {
	if len(r) < faceHeaderLen+faceInfoLen+imageInfoLen {
		return FaceImage{}, malformed("dg2 facial record: %d bytes is shorter than its fixed blocks", len(r))
	}
	if !bytes.Equal(r[0:4], faceFormatID) || !bytes.Equal(r[4:8], faceVersion) {
		return FaceImage{}, malformed("dg2 facial record: header % X is not FAC 010", r[0:8])
	}
	if n := binary.BigEndian.Uint32(r[8:12]); uint64(n) != uint64(len(r)) {
		return FaceImage{}, malformed("dg2 facial record: length field %d, record has %d bytes", n, len(r))
	}
	if n := binary.BigEndian.Uint16(r[12:14]); n != 1 {
		return FaceImage{}, malformed("dg2 facial record: %d facial images, want 1", n)
	}
	d := r[faceHeaderLen:]
	if n := binary.BigEndian.Uint32(d[0:4]); uint64(n) != uint64(len(d)) {
		return FaceImage{}, malformed("dg2 facial record data: length field %d, %d bytes present", n, len(d))
	}
	var f FaceImage
	points := int(binary.BigEndian.Uint16(d[4:6]))
	f.Gender, f.EyeColour, f.HairColour = Gender(d[6]), EyeColour(d[7]), HairColour(d[8])
	f.FeatureMask = uint32(d[9])<<16 | uint32(d[10])<<8 | uint32(d[11])
	f.Expression = Expression(binary.BigEndian.Uint16(d[12:14]))
	copy(f.PoseAngle[:], d[14:17])
	copy(f.PoseAngleUncertainty[:], d[17:20])
	d = d[faceInfoLen:]
	if len(d) < points*featurePointLen+imageInfoLen {
		return FaceImage{}, malformed("dg2 facial record: %d feature points do not fit in %d bytes", points, len(d))
	}
	for i := 0; i < points; i++ {
		p := d[i*featurePointLen:]
		f.FeaturePoints = append(f.FeaturePoints, FeaturePoint{
			Type: p[0], Code: p[1],
			X: binary.BigEndian.Uint16(p[2:4]), Y: binary.BigEndian.Uint16(p[4:6]), Reserved: binary.BigEndian.Uint16(p[6:8]),
		})
	}
	d = d[points*featurePointLen:]
	f.ImageType, f.ImageDataType = ImageType(d[0]), ImageDataType(d[1])
	f.Width, f.Height = int(binary.BigEndian.Uint16(d[2:4])), int(binary.BigEndian.Uint16(d[4:6]))
	f.ColourSpace, f.SourceType = ColourSpace(d[6]), SourceType(d[7])
	f.DeviceType, f.Quality = binary.BigEndian.Uint16(d[8:10]), binary.BigEndian.Uint16(d[10:12])
	img := d[imageInfoLen:]
	switch f.ImageDataType {
	case ImageDataJPEG:
		if !bytes.HasPrefix(img, []byte{0xFF, 0xD8}) {
			return FaceImage{}, malformed("dg2 image: no JPEG start-of-image marker")
		}
	case ImageDataJPEG2000:
		if !bytes.HasPrefix(img, []byte{0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50}) && !bytes.HasPrefix(img, []byte{0xFF, 0x4F, 0xFF, 0x51}) {
			return FaceImage{}, malformed("dg2 image: no JPEG 2000 signature")
		}
	default:
		return FaceImage{}, malformed("dg2 image: data type %d is neither JPEG nor JPEG 2000", f.ImageDataType)
	}
	f.JPEG = append([]byte(nil), img...)
	return f, nil
}
