import FerryCore
import Foundation
import Testing

@Suite("API decoding and validation")
struct APITests {
    func decode(_ json: String) throws(APIError) -> CreatePeerRequest {
        try FerryJSON.decodeStrict(CreatePeerRequest.self, from: Data(json.utf8))
    }

    @Test func strictDecodingNamesTheField() {
        #expect(throws: APIError.unknownField("colour")) { try decode(#"{"name":"a","colour":"red"}"#) }
        #expect(throws: APIError.missing("name")) { try decode(#"{"segment":"a"}"#) }
        #expect((try? decode(#"{"name":5}"#)) == nil)
        do { _ = try decode(#"{"name":"a","mtu":"big"}"#) } catch { #expect(error.field == "mtu") }
        do { _ = try decode(#"{"name":"a","dns":[1]}"#) } catch { #expect(error.field == "dns[0]") }
        do { _ = try decode("[]") } catch { #expect(error.code == "invalid_json") }
        do { _ = try decode("{") } catch { #expect(error.code == "invalid_json") }
        #expect((try? decode(#"{"name":"a","mesh":true}"#))?.mesh == true)
    }

    @Test func validation() {
        #expect(throws: APIError.self) { try Validate.name("") }
        #expect(throws: APIError.self) { try Validate.name(String(repeating: "a", count: 64)) }
        #expect(throws: APIError.self) { try Validate.name("-x") }
        #expect((try? Validate.name("build-farm.eu_1")) == "build-farm.eu_1")
        #expect(throws: APIError.invalid("ipv4", "'10.0.0.1/8' has host bits set; did you mean 10.0.0.0/8?")) {
            try Validate.prefix("10.0.0.1/8", field: "ipv4")
        }
        #expect(throws: APIError.self) { try Validate.prefix("10.0.0.1", field: "x") }
        #expect(throws: APIError.self) { try Validate.publicKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") }
        #expect(throws: APIError.self) { try Validate.label("a\u{7}b", field: "owner") }
    }

    @Test func errorBodyShape() throws {
        let data = try FerryJSON.encoder().encode(ErrorBody(.invalid("ipv4", "bad")))
        #expect(String(decoding: data, as: UTF8.self) == #"{"error":{"code":"invalid_field","field":"ipv4","message":"ipv4: bad"}}"#)
    }
}
